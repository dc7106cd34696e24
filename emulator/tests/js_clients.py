"""Running the real JavaScript clients (jsforce, the Salesforce CLI) from pytest.

Each client lives in its own npm project under ``emulator/tests/`` (``js/``, ``sfcli/``) with a
committed ``package.json`` and ``package-lock.json``; ``make node-deps`` runs ``npm ci`` there.
A missing ``node_modules`` is installed here once with ``npm ci`` too, so running pytest alone
works; without ``node``/``npm`` on the machine the tests skip and say why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sfexit_emulator import Emulator

HERE = Path(__file__).parent
NPM_CI = ("npm", "ci", "--no-audit", "--no-fund")
INSTALL_TIMEOUT = 600
# What keeps the `sf` CLI from starting anything that outlives the command (names verified in
# the pinned packages' sources, emulator/tests/sfcli/node_modules):
# - @oclif/plugin-update 4.7.56, dist/hooks/init.js: unless `scopedEnvVarTrue('DISABLE_AUTOUPDATE')`
#   (SF_DISABLE_AUTOUPDATE = "true" or "1"), every command spawns a detached
#   `sf update --autoupdate` (setsid, unref'd) that outlives the test run.
# - @salesforce/cli 2.146.3, dist/cli.js configureAutoUpdate: an npm install sets that name
#   itself only when neither it nor the legacy SF_AUTOUPDATE_DISABLE is set, so setting the
#   legacy name alone (as these tests did) turned the update hook back on.
# - @oclif/plugin-warn-if-update-available 3.1.70, lib/hooks/init/check-update.js: without
#   SF_SKIP_NEW_VERSION_CHECK it spawns a detached version check against the npm registry.
SF_CLI_ENV = {"SF_DISABLE_AUTOUPDATE": "true", "SF_AUTOUPDATE_DISABLE": "true",
              "SF_SKIP_NEW_VERSION_CHECK": "true", "SF_DISABLE_TELEMETRY": "true",
              "SF_USE_PROGRESS_BAR": "false"}


def node_project(name: str, marker: str) -> Path:
    """``emulator/tests/<name>`` with its packages installed; skips without node/npm.

    ``marker`` is a path under node_modules that proves the install is complete."""
    project = HERE / name
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip(f"node and npm are needed for the real {name} client (install Node.js >= 20)")
    if not (project / "node_modules" / marker).exists():
        done = subprocess.run(NPM_CI, cwd=project, capture_output=True, text=True,
                              timeout=INSTALL_TIMEOUT, check=False)
        if done.returncode != 0:
            pytest.fail(f"`npm ci` in {project} failed:\n{done.stderr[-3000:]}")
    return project


def client_env(org: Emulator, home: Path, **extra: str) -> dict[str, str]:
    """The environment a user would set: the CA through NODE_EXTRA_CA_CERTS, a private HOME,
    and the `sf` CLI's updater and telemetry off (SF_CLI_ENV)."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("SF_", "SFDX_", "NODE_"))}
    env.update(SF_CLI_ENV)
    env.update(HOME=str(home), NODE_EXTRA_CA_CERTS=str(org.ca_file),
               SF_INSTANCE_URL=org.url, SF_ACCESS_TOKEN=org.token)
    env.update(extra)
    return env


def run_json(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> Any:
    """Run a client, parse the JSON it prints last on stdout; fail with its output otherwise."""
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    try:
        start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("{"))
        return json.loads("\n".join(lines[start:]))
    except (StopIteration, json.JSONDecodeError):
        pytest.fail(f"{' '.join(args[:3])} printed no JSON (exit {done.returncode}):\n"
                    f"stdout: {done.stdout[-3000:]}\nstderr: {done.stderr[-3000:]}")
