"""``sfexit-emulator serve``: run the org emulator until SIGINT/SIGTERM.

The first line of stdout is the base URL (scripts read it), then the CA file and the demo
credentials, one ``name: value`` per line; then, for a person, the ``sfexit login`` that saves a
config profile (creating sfexit's config folder), the same profile to paste into sfexit's
config.toml instead, and one line per auth method saying how to log in with it. The emulator is imported inside the command so that
``--help`` does not pay for it. sfexit's ``sfexit emulator serve`` is this same command.
"""

from __future__ import annotations

import json
import shlex
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click



class _Refused(click.ClickException):
    """A bad option, said in one line (no usage block), exit code 2 as for any usage error."""

    exit_code = 2


def _paste_lines(org: Any) -> list[str]:
    """For a person: the ``sfexit login`` that saves a profile to sfexit's config.toml (and
    makes its folder), that profile to paste instead, then how to log in with each method.
    Every line starts with ``#`` or is TOML, so the ``name: value`` lines above stay the only
    ones of that form."""
    c = org.credentials
    ca = f"ca_bundle = {json.dumps(str(org.ca_file))}" if org.ca_file else "# (plain HTTP)"
    secrets = (f"SFEXIT_PASSWORD='{c.password}' SFEXIT_SECURITY_TOKEN='{c.security_token}' "
               f"SFEXIT_CLIENT_SECRET='{c.consumer_secret}'")
    ca_flag = f" --ca-bundle {shlex.quote(str(org.ca_file))}" if org.ca_file else ""
    return [
        "# Set sfexit up for this org, as pasted, on a machine with no sfexit config yet: the",
        "# login saves this org's profile to sfexit's config.toml, creating its folder",
        "# (`sfexit config show` prints where):",
        f"#   {secrets} sfexit login --org emulator --method password --login-url "
        f"{shlex.quote(org.url)} --username {shlex.quote(c.username)} --consumer-key "
        f"{shlex.quote(c.consumer_key)}{ca_flag}",
        "# Or paste the profile into that file yourself:",
        'default_org = "emulator"',
        "[orgs.emulator]",
        f"login_url = {json.dumps(org.url)}",
        'auth = "password"',
        f"username = {json.dumps(c.username)}",
        f"consumer_key = {json.dumps(c.consumer_key)}",
        ca,
        "",
        "# How to log in, one line per auth method:",
        f"#   password: {secrets} sfexit whoami",
        "#   password, kept in the keyring: sfexit login (asks for the password, security "
        "token and consumer secret above)",
        f"#   jwt: sfexit login --method jwt --key-file {c.jwt_key_file}",
        f"#   client_credentials: SFEXIT_CLIENT_SECRET='{c.consumer_secret}' sfexit login "
        "--method client_credentials",
        "#   web: sfexit login --method web (a browser; redirect_uri above)",
        "#   soap: SFEXIT_PASSWORD='...' SFEXIT_SECURITY_TOKEN='...' sfexit login --method soap",
        f"#   session: SFEXIT_INSTANCE_URL={org.url} SFEXIT_ACCESS_TOKEN='{org.token}' "
        "sfexit whoami",
    ]


@click.group("sfexit-emulator")
def main() -> None:
    """A Salesforce org on loopback, for tests, demos and benchmarks."""


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Loopback address to bind (anything else is refused).")
@click.option("--port", default=0, type=int, show_default=True, help="Port; 0 picks a free one.")
@click.option("--records", default=2000, type=int, show_default=True,
              help="Size of the seeded org (rows scale with it).")
@click.option("--seed", default=1, type=int, show_default=True, help="Seed of the demo data.")
@click.option("--latency-ms", default=0.0, type=float, show_default=True,
              help="Latency added to every Salesforce call.")
@click.option("--admin-token", metavar="TOKEN", help="Accept this access token for the admin.")
@click.option("--ca-file", type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write the CA certificate (default: a temp file).")
@click.option("--no-tls", is_flag=True, help="Serve plain HTTP instead of HTTPS.")
@click.option("--cost-model", is_flag=True,
              help="Wait a model of Salesforce's server time per call, REST query page and "
                   "Bulk query job (for benchmarks; see emulator/src/sfexit_emulator/costs.py).")
@click.option("--cost-profile", type=click.Choice(["low", "central", "high"]),
              default="central", show_default=True,
              help="With --cost-model: the REST query page time, 0.3, 0.8 or 2 s (no source "
                   "gives it; see emulator/README.md).")
@click.option("--cost-rest-scale", default=1.0, type=float, show_default=True,
              help="With --cost-model: multiply the per-call and REST query page times.")
@click.option("--cost-bulk-scale", default=1.0, type=float, show_default=True,
              help="With --cost-model: multiply the Bulk query job and result times.")
@click.option("--schema", "schema_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Custom objects and fields to add (JSON, or YAML with PyYAML).")
@click.option("--weekly-export-seconds", default=600.0, type=float, show_default=True,
              metavar="N", help="How long a triggered weekly export stays in progress "
                                "(emulator time) before its files are ready.")
def serve(host: str, port: int, records: int, seed: int, latency_ms: float,
          admin_token: str | None, ca_file: Path | None, no_tls: bool, cost_model: bool,
          cost_profile: str, cost_rest_scale: float, cost_bulk_scale: float,
          schema_file: Path | None, weekly_export_seconds: float) -> None:
    """Serve an emulated org on loopback until interrupted."""
    from sfexit_emulator import Emulator
    from sfexit_emulator.server import is_loopback

    if not is_loopback(host):
        raise _Refused(f"--host {host} is not a loopback address: the emulator only "
                               "binds 127.0.0.1, ::1 or localhost")
    if records < 1 or port < 0 or port > 65535 or latency_ms < 0:
        raise _Refused("--records must be >= 1, --port 0..65535, --latency-ms >= 0")
    if not (cost_rest_scale > 0 and cost_bulk_scale > 0):
        raise _Refused("--cost-rest-scale and --cost-bulk-scale must be > 0")
    if not weekly_export_seconds >= 0:
        raise _Refused("--weekly-export-seconds must be >= 0")
    from sfexit_emulator.schema_custom import SchemaFileError

    try:
        org = Emulator(records=records, seed=seed, latency_ms=latency_ms, tls=not no_tls,
                       admin_token=admin_token, ca_file=ca_file, host=host, port=port,
                       cost_model=cost_model, cost_rest_scale=cost_rest_scale,
                       cost_bulk_scale=cost_bulk_scale, schema_file=schema_file,
                       cost_profile=cost_profile)
    except SchemaFileError as exc:
        raise _Refused(f"--schema: {exc}") from None
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with org:
            creds = org.credentials
            assert creds is not None
            org.dataexport.update({"generation_seconds": weekly_export_seconds})
            lines = [
                org.url,
                f"ca_file: {org.ca_file or '(none: plain HTTP)'}",
                f"org_id: {org.org_id}",
                f"username: {creds.username}",
                f"password: {creds.password}",
                f"security_token: {creds.security_token}",
                f"consumer_key: {creds.consumer_key}",
                f"consumer_secret: {creds.consumer_secret}",
                f"admin_token: {org.token}",
                f"jwt_key_file: {creds.jwt_key_file}",
                f"redirect_uri: {creds.redirect_uri}",
            ]
            lines += ["", *_paste_lines(org)]
            sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
