"""The README's demo: start the bundled org emulator and run sfexit against it, end to end.

Until `sfexit demo` exists (issue 14) this script is the demo. It runs the real `sfexit`
commands a newcomer would type, in subprocesses, against an emulated org over HTTPS with its
own throwaway CA, and leaves everything in one directory (default ./demo-out).
Secrets go through SFEXIT_* environment variables: demo machines usually have no keyring.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

SFEXIT = [sys.executable, "-m", "sfexit"]


def start_emulator(workdir: Path, records: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """`sfexit emulator serve`: the URL is the first stdout line, then `key: value` lines."""
    proc = subprocess.Popen(
        [*SFEXIT, "emulator", "serve", "--records", str(records),
         "--ca-file", str(workdir / "emulator-ca.pem")],
        stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    info = {"url": proc.stdout.readline().strip()}
    if not info["url"].startswith("https://"):
        proc.terminate()
        raise SystemExit(f"demo: the emulator did not start (first line: {info['url']!r})")
    for line in proc.stdout:
        key, _, value = line.strip().partition(": ")
        info[key] = value
        if key == "redirect_uri":  # the last line the emulator prints
            break
    return proc, info


def write_config(workdir: Path, info: dict[str, str]) -> Path:
    config = workdir / "config.toml"
    config.write_text(f"""# Written by scripts/demo.py: one org profile pointing at the bundled emulator.
default_org = "demo"

[orgs.demo]
login_url = "{info['url']}"
ca_bundle = "{info['ca_file']}"
auth = "password"
username = "{info['username']}"
consumer_key = "{info['consumer_key']}"

[contract]
start = 2026-01-01
end = 2027-01-01
paid = "24000.00"
currency = "EUR"
fee = "10%"

[export]
dest = "{workdir / 'backup'}"
""", encoding="utf-8")
    return config


def run(args: list[str], env: dict[str, str]) -> None:
    print(f"\n$ sfexit {shlex.join(args)}", flush=True)
    result = subprocess.run([*SFEXIT, *args], env=env)
    if result.returncode != 0:
        raise SystemExit(f"demo: `sfexit {shlex.join(args)}` failed with exit code "
                         f"{result.returncode}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=Path("demo-out"),
                        help="where the config, backup and reports go (default: ./demo-out)")
    parser.add_argument("--records", type=int, default=2000, help="size of the emulated org")
    options = parser.parse_args()
    workdir = options.dir.resolve()
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)

    proc, info = start_emulator(workdir, options.records)
    try:
        config = write_config(workdir, info)
        env = dict(os.environ, SFEXIT_CONFIG=str(config), SFEXIT_PASSWORD=info["password"],
                   SFEXIT_SECURITY_TOKEN=info["security_token"],
                   SFEXIT_CLIENT_SECRET=info["consumer_secret"],
                   # The demo's secrets come from the environment: keep the user's keyring out.
                   PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
        print(f"Emulated org at {info['url']} (CA {info['ca_file']}); config {config}")
        for step in demo_steps(workdir):
            run(step, env)
        print(f"\nDemo finished: everything is in {workdir}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def demo_steps(workdir: Path) -> list[list[str]]:
    return [
        ["login"],
        ["whoami"],
        ["limits"],
        ["deadline", "--ics", str(workdir / "contract.ics")],
        ["notice", "--out", str(workdir / "cancellation-notice.md")],
        ["export", "bulk", "--dest", str(workdir / "backup")],
        ["export", "verify", str(workdir / "backup"), "--against-org"],
        ["users", "list"],
        ["users", "freeze", "--all-active", "--keep-profile", "System Administrator",
         "--dry-run", "--plan-file", str(workdir / "freeze-plan.csv")],
    ]

if __name__ == "__main__":
    main()
