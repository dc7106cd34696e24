"""``sfexit login``, ``logout``, ``whoami``, ``limits``: thin commands over ``sfexit.org``.

Kept light at import: the org modules (requests, tenacity, simple-salesforce, PyJWT) load
inside the commands, so ``sfexit --help`` never pays for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sfexit.cli.context import AppContext, json_option, org_option, pass_app
from sfexit.cli.output import table
from sfexit.config import AUTH_METHODS, load_settings
from sfexit.jsonable import to_jsonable


@click.command()
@click.option("--method", "auth", type=click.Choice(AUTH_METHODS),
              help="Auth method (default: the profile's, else web).")
@click.option("--login-url", metavar="URL",
              help="Login host: https://login.salesforce.com, https://test.salesforce.com or "
                   "your My Domain.")
@click.option("--instance-url", metavar="URL",
              help="Instance URL (needed for --method session).")
@click.option("--username", metavar="USER", help="Salesforce username (jwt, password, soap).")
@click.option("--consumer-key", metavar="KEY", help="Connected app consumer key.")
@click.option("--key-file", type=click.Path(path_type=Path, dir_okay=False),
              help="Private key (PEM) for the JWT bearer flow.")
@click.option("--sf-alias", metavar="ALIAS", help="Reuse this Salesforce CLI (sf) login.")
@click.option("--ca-bundle", type=click.Path(path_type=Path, dir_okay=False),
              help="CA certificates to trust for this org (TLS-inspecting proxy, emulator).")
@click.option("--no-browser", is_flag=True,
              help="Web login: print the URL instead of opening a browser.")
@json_option
@org_option
@pass_app
def login(app: AppContext, auth: str | None, login_url: str | None, instance_url: str | None,
          username: str | None, consumer_key: str | None, key_file: Path | None,
          sf_alias: str | None, ca_bundle: Path | None, no_browser: bool) -> None:
    """Log in to an org, check the login, and keep its secrets in the OS keyring.

    Values come from the flags, then SFEXIT_* variables, then the [orgs.NAME] profile.
    Secrets (password, security token, consumer secret, refresh token, key passphrase) come
    from SFEXIT_* variables, the keyring or a prompt; they are never written to a file.

    After a successful login the profile values given as flags are saved to [orgs.NAME]
    (--org, else "default") of the config file (--config, else SFEXIT_CONFIG, else the
    default path), as `sf org login` keeps its logins; the next command needs no flags.
    `sfexit config show` prints what is saved and where each secret comes from.
    """
    from sfexit.org.login import login as do_login

    overrides = {"auth": auth, "login_url": login_url, "instance_url": instance_url,
                 "username": username, "consumer_key": consumer_key,
                 "key_file": str(key_file) if key_file else None, "sf_alias": sf_alias,
                 "ca_bundle": str(ca_bundle) if ca_bundle else None}
    settings = load_settings(app.config_path, app.org, overrides=overrides,
                             missing_ok=any(v is not None for v in overrides.values()))

    def show_url(url: str) -> None:
        if no_browser:  # the person must see it, even with --json or --quiet
            click.echo(f"Open this URL in a browser to log in:\n{url}", err=True)
        else:
            app.out.info("Opening the browser to log in; waiting for it to finish…")

    result = do_login(settings, prompt=app.prompt(), show_url=show_url,
                      open_browser=not no_browser, warn=app.out.warn)
    saved = _save_profile(app, settings, result.org_profile,
                          {k: v for k, v in overrides.items() if v is not None})
    stored = ", ".join(result.stored_in_keyring) or "nothing new"
    body = {**to_jsonable(result), "saved_to": saved}
    app.out.result(body, lambda: (
        f"Logged in to {result.instance_url} as {result.username} (org {result.org_id}, "
        f"method {result.method}, profile {result.org_profile}).\n"
        f"Stored in the keyring: {stored}.\n"
        + (f"Saved profile [orgs.{result.org_profile}] to {saved}." if saved else
           "The profile was already saved; nothing written.")))


def _save_profile(app: AppContext, settings: Any, name: str,
                  values: dict[str, str]) -> str | None:
    """Save the flags' profile values (paths made absolute) to the config file; its path,
    or None when nothing was given or the file already holds them."""
    from sfexit.config import default_config_path
    from sfexit.config_write import save_profile

    if not values:
        return None
    for key in ("key_file", "ca_bundle"):
        if key in values:
            values[key] = str(Path(values[key]).expanduser().resolve())
    from sfexit.config import read_environ

    path = (settings.config_file or app.config_path or read_environ().get("SFEXIT_CONFIG")
            or default_config_path())
    return str(path) if save_profile(Path(path), name, values) else None


@click.command()
@json_option
@org_option
@pass_app
def logout(app: AppContext) -> None:
    """Revoke the org profile's token and delete its secrets from the keyring."""
    from sfexit.org.login import logout as do_logout

    result = do_logout(app.settings())
    deleted = ", ".join(result.deleted_from_keyring) or "nothing"
    app.out.result(to_jsonable(result), lambda: (
        f"Logged out of profile {result.org_profile}: token "
        f"{'revoked' if result.revoked else 'not revoked (none stored)'}; deleted from the "
        f"keyring: {deleted}."))


@click.command()
@json_option
@org_option
@pass_app
def whoami(app: AppContext) -> None:
    """Show the org and user this login reaches, and the API version in use."""
    from sfexit.org.identity import whoami as who

    me = who(app.connect())
    rows: list[tuple[str, object]] = [
        ("Org id", me.org_id), ("Org name", me.org_name), ("Edition", me.edition),
        ("Sandbox", "yes" if me.is_sandbox else "no"), ("Instance", me.instance_url),
        ("API version", me.api_version), ("User", me.username), ("User id", me.user_id),
        ("Profile", me.profile)]
    app.out.result(to_jsonable(me), lambda: "\n".join(
        f"{label + ':':<13}{'' if value is None else value}" for label, value in rows))


@click.command()
@json_option
@org_option
@pass_app
def limits(app: AppContext) -> None:
    """Show the org's limits: API requests, Bulk 2.0 query jobs and storage, ingest batches."""
    from sfexit.org.identity import org_limits

    found = org_limits(app.connect())
    result = {"limits": {name: {"max": lim.max, "remaining": lim.remaining, "used": lim.used}
                         for name, lim in found.items()}}
    app.out.result(result, lambda: table(
        ["Limit", "Max", "Remaining", "Used"],
        [[name, *(f"{n:,}" if isinstance(n, int) else n
                  for n in (lim.max, lim.remaining, lim.used))]
         for name, lim in found.items()]))
