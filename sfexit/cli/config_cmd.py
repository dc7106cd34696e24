"""``sfexit config show``: which config file, which profile, where each secret comes from.

Reads files, the environment and the keyring only: no login, no network (STYLE: no network at
startup), and never a secret's value.
"""

from __future__ import annotations

from typing import Any

import click

from sfexit.cli.context import AppContext, json_option, org_option, pass_app


@click.group("config")
def config_group() -> None:
    """The configuration sfexit uses: file, org profile, secrets."""


def config_state(app: AppContext) -> dict[str, Any]:
    """The config file in use, the active profile and its secrets' sources, and the login's
    state; the data of ``config show``."""
    from sfexit.config import default_config_path
    from sfexit.org.secrets import LABELS, keyring_available, secret_sources

    settings = app.settings()
    path = settings.config_file or app.config_path or default_config_path()
    profile = settings.org
    keyring = keyring_available()
    secrets = [] if profile is None else [
        {"kind": kind, "label": LABELS[kind], "required": required, "source": source}
        for kind, required, source in secret_sources(profile.name, profile.auth, settings.env)]
    missing = [str(s["label"]) for s in secrets if s["required"] and s["source"] == "missing"]
    if profile is None:
        state = "no org profile"
    elif missing and not keyring:
        from sfexit.config_values import SECRET_ENV

        names = [SECRET_ENV[str(s["kind"])] for s in secrets
                 if s["required"] and s["source"] == "missing"]
        state = ("not logged in: no " + ", ".join(missing) + " (no keyring to keep them: set "
                 + ", ".join(names) + ")")
    elif missing:
        state = "not logged in: no " + ", ".join(missing) + " (run `sfexit login`)"
    else:
        state = "ready: every secret the login needs is found (`sfexit whoami` checks it)"
    return {
        "config_file": str(path), "config_exists": settings.config_file is not None,
        "profiles": list(settings.org_names),
        "profile": None if profile is None else {
            "name": profile.name, "auth": profile.auth, "login_url": profile.login_url,
            "instance_url": profile.instance_url, "username": profile.username,
            "consumer_key": profile.consumer_key, "sf_alias": profile.sf_alias,
            "key_file": None if profile.key_file is None else str(profile.key_file),
            "ca_bundle": None if profile.ca_bundle is None else str(profile.ca_bundle)},
        "keyring": keyring, "secrets": secrets, "login": state,
    }


@config_group.command("show")
@json_option
@org_option
@pass_app
def show(app: AppContext) -> None:
    """Print the config file in use, the active org profile, where each secret comes from
    (keyring, env or missing; never the secret) and whether a login can run without asking."""
    state = config_state(app)

    def human() -> str:
        lines = [f"Config file:  {state['config_file']}"
                 + ("" if state["config_exists"] else " (does not exist)")]
        p = state["profile"]
        if p is None:
            lines.append("Org profile:  none (run `sfexit login --login-url URL --method "
                         "METHOD ...`: it saves one)")
        else:
            others = [n for n in state["profiles"] if n != p["name"]]
            lines.append(f"Org profile:  {p['name']}"
                         + (f" (others: {', '.join(others)}; choose with --org)" if others else ""))
            lines += [f"  {k}: {v}" for k, v in p.items() if v is not None and k != "name"]
        lines.append("Keyring:      " + ("available" if state["keyring"] else
                                         "NOT available: secrets must come from SFEXIT_* "
                                         "variables"))
        for s in state["secrets"]:
            need = "" if s["required"] else " (optional)"
            lines.append(f"  {s['label']}{need}: {s['source']}")
        lines.append(f"Login:        {state['login']}")
        return "\n".join(lines)

    app.out.result(state, human)
