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
    """The environment a user would set: the CA through NODE_EXTRA_CA_CERTS, a private HOME."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("SF_", "SFDX_", "NODE_"))}
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
