"""Settings: the TOML config file + ``SFEXIT_*`` environment + flags, as frozen dataclasses.

This module is the only reader of ``os.environ`` in sfexit. Precedence, for every value:
flags (``overrides``) > ``SFEXIT_*`` environment > config file > defaults.

Everything is validated up front: unknown keys, wrong types, bad dates, missing values and
secrets written into the file raise :class:`~sfexit.errors.ConfigError` with one line naming
the key and the file. ``config.example.toml`` documents every key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, cast, get_args

from sfexit.config_values import SECRET_ENV, Validator
from sfexit.errors import ConfigError, UsageError
from sfexit.storage import parse_remote

AuthMethod = Literal["jwt", "client_credentials", "web", "refresh_token", "password", "soap",
                     "sf", "session"]
AUTH_METHODS: tuple[str, ...] = get_args(AuthMethod)

PRODUCTION_LOGIN_URL = "https://login.salesforce.com"
SANDBOX_LOGIN_URL = "https://test.salesforce.com"
DEFAULT_REDIRECT_URI = "http://localhost:1717/OauthRedirect"  # the sf CLI's own callback

# The documented environment variables (docs/cli.md and config.example.toml list them).
ENV_PROFILE_KEYS: dict[str, str] = {
    "SFEXIT_LOGIN_URL": "login_url",
    "SFEXIT_INSTANCE_URL": "instance_url",
    "SFEXIT_AUTH": "auth",
    "SFEXIT_USERNAME": "username",
    "SFEXIT_CONSUMER_KEY": "consumer_key",
    "SFEXIT_KEY_FILE": "key_file",
    "SFEXIT_SF_ALIAS": "sf_alias",
    "SFEXIT_API_VERSION": "api_version",
    "SFEXIT_CA_BUNDLE": "ca_bundle",
}


@dataclass(frozen=True)
class ContractSettings:
    start: dt.date | None = None
    end: dt.date | None = None    # the order form's End Date: the term's last day, included
    paid: Decimal | None = None
    currency: str | None = None
    fee: str | None = None  # "500.00" (absolute) or "10%" (of the remaining value)
    notice_days: int | None = None
    recommended_notice_days: int | None = None
    refund_full_days: int | None = None
    renewal_window_days: int | None = None
    leave: str = "end-of-term"    # "end-of-term" (no renewal) | "early" (on `effective`)
    effective: dt.date | None = None


@dataclass(frozen=True)
class NoticeSettings:
    """Who the cancellation notice is from and who signs it (``sfexit notice``)."""

    company: str | None = None
    signer: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class OrgProfile:
    name: str
    login_url: str = PRODUCTION_LOGIN_URL
    instance_url: str | None = None
    sandbox: bool = False
    auth: AuthMethod = "web"
    username: str | None = None
    consumer_key: str | None = None
    key_file: Path | None = None
    sf_alias: str | None = None
    api_version: str | None = None
    ca_bundle: Path | None = None
    redirect_uri: str = DEFAULT_REDIRECT_URI
    sf_path: str = "sf"


# Of each daily limit's Max, what an export leaves for the org's other users (export/budget.py).
DEFAULT_RESERVE_PCT = 10.0
MAX_RESERVE_PCT = 90.0


def parse_reserve(value: object, where: str = "--reserve") -> float:
    """A reserve percentage: a number 0–90, ``%`` allowed (``"15"``, ``"12.5%"``, ``10``).

    Raises UsageError (exit 2) with one line naming ``where``."""
    text = str(value).strip().removesuffix("%").strip()
    try:
        pct = float(text)
    except ValueError:
        pct = math.nan
    if isinstance(value, bool) or not math.isfinite(pct) or not 0 <= pct <= MAX_RESERVE_PCT:
        raise UsageError(
            f"{where}: must be a percentage from 0 to {MAX_RESERVE_PCT:g} of each daily limit "
            f"left for other users of the org (got {value!r})")
    return pct


@dataclass(frozen=True)
class ExportSettings:
    dest: Path | None = None
    # ``dest`` given as an s3://, gs:// or az:// URL (for ``export bulk`` only,
    # docs/cloud-export.md); then ``dest`` is None. Not a key of its own.
    dest_url: str | None = None
    parallel: int = 4
    include_deleted: bool = False
    objects: tuple[str, ...] | None = None
    all_versions: bool = False
    reserve: float = DEFAULT_RESERVE_PCT
    rest_below: int | None = None    # export.schedule: None = the cost model's threshold


@dataclass(frozen=True)
class UsersSettings:
    keep: tuple[str, ...] = ()
    keep_profiles: tuple[str, ...] = ()
    successor: str | None = None
    price_per_licence: Decimal | None = None
    inactive_days: int = 90


@dataclass(frozen=True)
class ReportSettings:
    lang: str = "en"
    dir: Path | None = None


@dataclass(frozen=True)
class OffboardSettings:
    skip: tuple[str, ...] = ()
    deactivate: bool = False


@dataclass(frozen=True)
class EnvValues:
    """The environment values the rest of sfexit needs, read once, here."""

    instance_url: str | None = None
    access_token: str | None = None
    secrets: Mapping[str, str] = field(default_factory=dict)  # kind -> value (SECRET_ENV)
    requests_ca_bundle: str | None = None
    no_color: bool = False
    sf_path: str | None = None  # SFEXIT_SF_PATH: the Salesforce CLI executable

    def secret(self, kind: str) -> str | None:
        return self.secrets.get(kind)

    def __repr__(self) -> str:  # never show secret values in a repr or a traceback
        return (f"EnvValues(instance_url={self.instance_url!r}, secrets={sorted(self.secrets)!r}, "
                f"requests_ca_bundle={self.requests_ca_bundle!r}, no_color={self.no_color!r})")


@dataclass(frozen=True)
class Settings:
    config_file: Path | None = None
    org: OrgProfile | None = None
    contract: ContractSettings = ContractSettings()
    notice: NoticeSettings = NoticeSettings()
    export: ExportSettings = ExportSettings()
    users: UsersSettings = UsersSettings()
    report: ReportSettings = ReportSettings()
    offboard: OffboardSettings = OffboardSettings()
    no_color: bool = False
    env: EnvValues = EnvValues()
    org_names: tuple[str, ...] = ()


def default_config_path() -> Path:
    import platformdirs  # light, but only needed here

    return Path(platformdirs.user_config_path("sfexit")) / "config.toml"


def read_environ() -> Mapping[str, str]:
    """The process environment; the one place sfexit reads it."""
    return dict(os.environ)


def read_env(environ: Mapping[str, str]) -> EnvValues:
    secrets = {kind: environ[var] for kind, var in SECRET_ENV.items() if environ.get(var)}
    return EnvValues(
        instance_url=environ.get("SFEXIT_INSTANCE_URL") or None,
        access_token=environ.get("SFEXIT_ACCESS_TOKEN") or None,
        secrets=secrets,
        requests_ca_bundle=environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE")
        or None,
        no_color="NO_COLOR" in environ and environ["NO_COLOR"] != "",
        sf_path=environ.get("SFEXIT_SF_PATH") or None,
    )


def no_color_requested(environ: Mapping[str, str] | None = None) -> bool:
    """``NO_COLOR`` (https://no-color.org): set and not empty disables colour."""
    return read_env(read_environ() if environ is None else environ).no_color


def load_settings(config_path: Path | None = None, org: str | None = None, *,
                  environ: Mapping[str, str] | None = None,
                  overrides: Mapping[str, Any] | None = None,
                  missing_ok: bool = False) -> Settings:
    """Read config file, environment and flags into one validated :class:`Settings`.

    ``overrides`` are org-profile values given as flags (``login_url``, ``auth``, ...).
    ``missing_ok``: an explicit config path that does not exist yet is no error (``sfexit
    login`` creates it).
    Raises ConfigError (one line naming key and file) for anything invalid.
    """
    env_map = read_environ() if environ is None else environ
    env = read_env(env_map)
    path, explicit = _config_location(config_path, env_map)
    data: dict[str, Any] = {}
    readable = path is not None and _is_config_file(path, explicit)
    if path is not None and readable:
        data = _read_toml(path)
    elif explicit and path is not None and not missing_ok:
        raise ConfigError(f"config file {path} does not exist",
                          hint="check --config / SFEXIT_CONFIG")
    where = str(path) if path is not None and readable else "no config file"
    v = Validator(where)
    v.check_keys(data, "", {"default_org", "orgs", "contract", "export", "users", "report",
                            "offboard", "notice"})
    orgs = v.table(data, "orgs")
    for name, raw in orgs.items():
        v.require_table(raw, f"orgs.{name}")
    profile = _select_profile(v, orgs, data, org, env_map, env, overrides or {})
    return Settings(
        config_file=path if readable else None,
        org=profile,
        contract=_contract(v, v.table(data, "contract")),
        notice=_notice(v, v.table(data, "notice")),
        export=_export(v, v.table(data, "export")),
        users=_users(v, v.table(data, "users")),
        report=_report(v, v.table(data, "report")),
        offboard=_offboard(v, v.table(data, "offboard")),
        no_color=env.no_color,
        env=env,
        org_names=tuple(orgs),
    )


def _config_location(config_path: Path | None,
                     environ: Mapping[str, str]) -> tuple[Path | None, bool]:
    if config_path is not None:
        return Path(config_path).expanduser(), True
    if environ.get("SFEXIT_CONFIG"):
        return Path(environ["SFEXIT_CONFIG"]).expanduser(), True
    return default_config_path(), False


def _is_config_file(path: Path, explicit: bool) -> bool:
    """A regular file; given explicitly, also a device such as ``/dev/null``, read as an empty
    config (as ``git config --file /dev/null`` and ``GIT_CONFIG_GLOBAL=/dev/null`` do: the
    documented way to run without one). A folder is a ConfigError."""
    if path.is_dir():
        raise ConfigError(f"config file {path} is a folder, not a file",
                          hint="check --config / SFEXIT_CONFIG")
    return path.is_file() or (explicit and path.exists())


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # TOML files are UTF-8 (toml.io, "Spec"); a Latin-1 or UTF-16 editor save is common.
        raise ConfigError(f"{path}: not UTF-8 at byte {exc.start} (TOML files must be UTF-8)",
                          hint="save the file as UTF-8") from None
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


# --- org profile ----------------------------------------------------------------------------

_PROFILE_KEYS = {f.name for f in dataclasses.fields(OrgProfile)} - {"name"}


def _select_profile(v: Validator, orgs: Mapping[str, Any], data: Mapping[str, Any],
                    org: str | None, environ: Mapping[str, str], env: EnvValues,
                    overrides: Mapping[str, Any]) -> OrgProfile | None:
    default_org = v.opt_str(data, "default_org", "default_org")
    name = org or environ.get("SFEXIT_ORG") or default_org
    if name is None and len(orgs) == 1:
        name = next(iter(orgs))
    raw: dict[str, Any] = {}
    if name is not None:
        if name in orgs:
            raw = dict(orgs[name])
        elif orgs or not (overrides or env.instance_url):
            known = ", ".join(sorted(orgs)) or "none"
            source = "--org" if org else ("SFEXIT_ORG" if environ.get("SFEXIT_ORG")
                                          else "default_org")
            raise ConfigError(f"{v.where}: {source}: no org profile [orgs.{name}] "
                              f"(profiles: {known})")
    v.check_keys(raw, f"orgs.{name}", _PROFILE_KEYS)
    for var, key in ENV_PROFILE_KEYS.items():
        if environ.get(var):
            raw[key] = environ[var]
    if env.sf_path:
        raw["sf_path"] = env.sf_path
    raw.update({k: val for k, val in overrides.items() if val is not None})
    if (env.instance_url and not overrides.get("auth") and not environ.get("SFEXIT_AUTH")
            and (env.access_token or name not in orgs)):
        # SFEXIT_INSTANCE_URL + SFEXIT_ACCESS_TOKEN: a plain session. Without a token and
        # without a profile saying how to log in, the URL alone still means a plain session:
        # the error is then the missing access token, not a consumer key for a web login.
        raw["auth"] = "session"
    if not raw:
        return None
    return _profile(v, name or "default", raw)


def _profile(v: Validator, name: str, raw: Mapping[str, Any]) -> OrgProfile:
    p = f"orgs.{name}"
    sandbox = v.opt_bool(raw, "sandbox", f"{p}.sandbox") or False
    auth = v.opt_str(raw, "auth", f"{p}.auth") or "web"
    if auth not in AUTH_METHODS:
        raise ConfigError(f"{v.where}: {p}.auth: must be one of {', '.join(AUTH_METHODS)} "
                          f"(got {auth!r})")
    login_url = v.https_url(raw, "login_url", f"{p}.login_url") or (
        SANDBOX_LOGIN_URL if sandbox else PRODUCTION_LOGIN_URL)
    api_version = v.opt_str(raw, "api_version", f"{p}.api_version")
    if api_version is not None:
        api_version = api_version.lstrip("vV")
        if not re.fullmatch(r"\d{2}\.0", api_version):
            raise ConfigError(f"{v.where}: {p}.api_version: must look like \"64.0\" "
                              f"(got {raw['api_version']!r})")
    profile = OrgProfile(
        name=name, login_url=login_url,
        instance_url=v.https_url(raw, "instance_url", f"{p}.instance_url"),
        sandbox=sandbox, auth=cast(AuthMethod, auth),
        username=v.opt_str(raw, "username", f"{p}.username"),
        consumer_key=v.opt_str(raw, "consumer_key", f"{p}.consumer_key"),
        key_file=v.opt_path(raw, "key_file", f"{p}.key_file"),
        sf_alias=v.opt_str(raw, "sf_alias", f"{p}.sf_alias"),
        api_version=api_version,
        ca_bundle=v.opt_path(raw, "ca_bundle", f"{p}.ca_bundle"),
        redirect_uri=v.opt_str(raw, "redirect_uri", f"{p}.redirect_uri") or DEFAULT_REDIRECT_URI,
        sf_path=v.opt_str(raw, "sf_path", f"{p}.sf_path") or "sf",
    )
    _require_for_method(v, profile)
    return profile


# Which profile values each auth method cannot work without.
REQUIRED_BY_METHOD: dict[str, tuple[str, ...]] = {
    "jwt": ("username", "consumer_key", "key_file"),
    "client_credentials": ("consumer_key",),
    "web": ("consumer_key",),
    "refresh_token": ("consumer_key",),
    "password": ("username", "consumer_key"),
    "soap": ("username",),
    "sf": ("sf_alias",),
    "session": ("instance_url",),
}


def _require_for_method(v: Validator, profile: OrgProfile) -> None:
    for key in REQUIRED_BY_METHOD[profile.auth]:
        if getattr(profile, key) in (None, ""):
            raise ConfigError(f"{v.where}: orgs.{profile.name}.{key}: required for "
                              f"auth = \"{profile.auth}\"")
    if profile.ca_bundle is not None and not profile.ca_bundle.is_file():
        raise ConfigError(f"{v.where}: orgs.{profile.name}.ca_bundle: {profile.ca_bundle} "
                          "does not exist")


# --- other sections -------------------------------------------------------------------------

def _contract(v: Validator, raw: Mapping[str, Any]) -> ContractSettings:
    names = {f.name for f in dataclasses.fields(ContractSettings)}
    v.check_keys(raw, "contract", names)
    currency = v.opt_str(raw, "currency", "contract.currency")
    if currency is not None and not re.fullmatch(r"[A-Za-z]{3}", currency):
        raise ConfigError(f"{v.where}: contract.currency: must be a 3-letter ISO code "
                          f"(got {currency!r})")
    fee = v.opt_str_or_number(raw, "fee", "contract.fee")
    if fee is not None and not re.fullmatch(r"\d+(\.\d+)?%?", fee):
        raise ConfigError(f"{v.where}: contract.fee: must be an amount like \"500.00\" or a "
                          f"percentage like \"10%\" (got {fee!r})")
    contract = ContractSettings(
        start=v.opt_date(raw, "start", "contract.start"),
        end=v.opt_date(raw, "end", "contract.end"),
        paid=v.opt_decimal(raw, "paid", "contract.paid"),
        currency=currency.upper() if currency else None,
        fee=fee,
        leave=(v.opt_str(raw, "leave", "contract.leave") or "end-of-term").lower(),
        effective=v.opt_date(raw, "effective", "contract.effective"),
        **{k: v.opt_int(raw, k, f"contract.{k}") for k in
           ("notice_days", "recommended_notice_days", "refund_full_days",
            "renewal_window_days")},
    )
    if contract.start and contract.end and contract.end < contract.start:
        raise ConfigError(f"{v.where}: contract.end: must not be before contract.start "
                          "(end is the term's last day)")
    _check_leave(v, contract)
    return contract


LEAVE_WAYS = ("end-of-term", "early")


def _check_leave(v: Validator, contract: ContractSettings) -> None:
    """The two ways of leaving are never mixed: ``effective`` only with ``early``."""
    if contract.leave not in LEAVE_WAYS:
        raise ConfigError(f"{v.where}: contract.leave: must be \"end-of-term\" or \"early\" "
                          f"(got {contract.leave!r})")
    if contract.leave == "early" and contract.effective is None:
        raise ConfigError(f"{v.where}: contract.effective: required with leave = \"early\" "
                          "(the day the early termination takes effect)")
    if contract.leave == "end-of-term" and contract.effective is not None:
        raise ConfigError(f"{v.where}: contract.effective: only for leave = \"early\"; "
                          "a non-renewal ends on contract.end")
    if contract.effective is not None and contract.start and contract.end and not (
            contract.start <= contract.effective <= contract.end):
        raise ConfigError(f"{v.where}: contract.effective: {contract.effective} is outside the "
                          f"term {contract.start} to {contract.end}")


def _notice(v: Validator, raw: Mapping[str, Any]) -> NoticeSettings:
    v.check_keys(raw, "notice", {f.name for f in dataclasses.fields(NoticeSettings)})
    return NoticeSettings(**{k: v.opt_str(raw, k, f"notice.{k}")
                             for k in ("company", "signer", "title")})


def _export(v: Validator, raw: Mapping[str, Any]) -> ExportSettings:
    v.check_keys(raw, "export",
                 {f.name for f in dataclasses.fields(ExportSettings)} - {"dest_url"})
    parallel = v.opt_int(raw, "parallel", "export.parallel")
    if parallel is not None and not 1 <= parallel <= 32:
        raise ConfigError(f"{v.where}: export.parallel: must be between 1 and 32 "
                          f"(got {parallel})")
    objects = v.opt_str_list(raw, "objects", "export.objects")
    rest_below = v.opt_int(raw, "rest_below", "export.rest_below")
    if rest_below is not None and rest_below < 0:
        raise ConfigError(f"{v.where}: export.rest_below: must be 0 or more (got {rest_below})")
    dest_url = _dest_url(v, v.opt_str(raw, "dest", "export.dest"))
    return ExportSettings(
        dest=None if dest_url else v.opt_path(raw, "dest", "export.dest"),
        dest_url=dest_url,
        parallel=parallel or 4,
        include_deleted=bool(v.opt_bool(raw, "include_deleted", "export.include_deleted")),
        objects=objects,
        all_versions=bool(v.opt_bool(raw, "all_versions", "export.all_versions")),
        reserve=(DEFAULT_RESERVE_PCT if raw.get("reserve") is None
                 else _reserve(v, raw["reserve"])),
        rest_below=rest_below,
    )


def _dest_url(v: Validator, value: str | None) -> str | None:
    """``[export] dest`` as a storage URL (normalized), None for a directory; a malformed URL
    is the one line ``--dest`` gives (storage.parse_remote)."""
    try:
        remote = parse_remote(value) if value is not None else None
    except UsageError as exc:
        raise ConfigError(f"{v.where}: export.dest: {exc.message}") from None
    return remote.url if remote is not None else None


def _reserve(v: Validator, value: Any) -> float:
    try:
        return parse_reserve(value, "export.reserve")
    except UsageError as exc:
        raise ConfigError(f"{v.where}: {exc.message}") from None


def _users(v: Validator, raw: Mapping[str, Any]) -> UsersSettings:
    v.check_keys(raw, "users", {f.name for f in dataclasses.fields(UsersSettings)})
    inactive = v.opt_int(raw, "inactive_days", "users.inactive_days")
    return UsersSettings(
        keep=v.opt_str_list(raw, "keep", "users.keep") or (),
        keep_profiles=v.opt_str_list(raw, "keep_profiles", "users.keep_profiles") or (),
        successor=v.opt_str(raw, "successor", "users.successor"),
        price_per_licence=v.opt_decimal(raw, "price_per_licence", "users.price_per_licence"),
        inactive_days=90 if inactive is None else inactive,
    )


REPORT_LANGUAGES = ("en", "da", "de", "fr", "it", "nl")


def _report(v: Validator, raw: Mapping[str, Any]) -> ReportSettings:
    v.check_keys(raw, "report", {"lang", "dir"})
    lang = v.opt_str(raw, "lang", "report.lang") or "en"
    if lang not in REPORT_LANGUAGES:
        raise ConfigError(f"{v.where}: report.lang: must be one of {', '.join(REPORT_LANGUAGES)}"
                          f" (got {lang!r})")
    return ReportSettings(lang=lang, dir=v.opt_path(raw, "dir", "report.dir"))


def _offboard(v: Validator, raw: Mapping[str, Any]) -> OffboardSettings:
    v.check_keys(raw, "offboard", {"skip", "deactivate"})
    return OffboardSettings(
        skip=v.opt_str_list(raw, "skip", "offboard.skip") or (),
        deactivate=bool(v.opt_bool(raw, "deactivate", "offboard.deactivate")),
    )
