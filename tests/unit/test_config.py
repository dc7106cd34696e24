"""Config: precedence flags > SFEXIT_* env > file > defaults, and one-line validation errors."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest

from sfexit.config import (PRODUCTION_LOGIN_URL, SANDBOX_LOGIN_URL, ContractSettings,
                           NoticeSettings, Settings, load_settings)
from sfexit.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(path: Path | None, env: dict[str, str] | None = None, **kw: object) -> Settings:
    return load_settings(path, environ=env or {}, **kw)  # type: ignore[arg-type]


def error_of(path: Path | None, env: dict[str, str] | None = None, **kw: object) -> str:
    with pytest.raises(ConfigError) as info:
        load(path, env, **kw)
    return info.value.one_line()


PROFILE = """
default_org = "prod"
[orgs.prod]
login_url = "https://acme.my.salesforce.com"
auth = "client_credentials"
consumer_key = "3MVGkey"
api_version = "62.0"
[orgs.sandbox]
sandbox = true
auth = "password"
username = "admin@acme.com.uat"
consumer_key = "3MVGsbx"
"""


def test_no_file_gives_defaults_and_no_org() -> None:
    settings = load(None, {})
    assert settings.org is None
    assert settings.config_file is None
    assert settings.contract == ContractSettings()
    assert settings.export.parallel == 4
    assert settings.report.lang == "en"
    assert settings.offboard.deactivate is False


def test_default_location_is_platform_config_dir() -> None:
    # conftest points XDG_CONFIG_HOME at a temp dir; platformdirs follows it
    config_dir = Path(os.environ["XDG_CONFIG_HOME"]) / "sfexit"
    config_dir.mkdir(parents=True)
    (config_dir / "config.toml").write_text('[report]\nlang = "de"\n')
    settings = load_settings(environ={})
    assert settings.report.lang == "de"
    assert settings.config_file == config_dir / "config.toml"


def test_sfexit_config_env_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[report]\nlang = "fr"\n')
    assert load(None, {"SFEXIT_CONFIG": str(path)}).report.lang == "fr"


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert error_of(missing) == (f"config file {missing} does not exist "
                                 "(check --config / SFEXIT_CONFIG)")


def test_default_org_profile_is_selected(tmp_path: Path) -> None:
    org = load(write(tmp_path, PROFILE)).org
    assert org is not None
    assert (org.name, org.auth, org.login_url, org.api_version) == (
        "prod", "client_credentials", "https://acme.my.salesforce.com", "62.0")


def test_sandbox_profile_defaults_to_test_login_host(tmp_path: Path) -> None:
    org = load(write(tmp_path, PROFILE), org="sandbox").org
    assert org is not None and org.login_url == SANDBOX_LOGIN_URL and org.sandbox


def test_precedence_flag_over_env_over_file(tmp_path: Path) -> None:
    path = write(tmp_path, PROFILE)
    env = {"SFEXIT_ORG": "sandbox", "SFEXIT_USERNAME": "env@acme.com"}
    assert load(path, env).org.username == "env@acme.com"  # type: ignore[union-attr]
    assert load(path, env).org.name == "sandbox"  # type: ignore[union-attr]
    flagged = load(path, env, org="prod", overrides={"username": "flag@acme.com"}).org
    assert flagged is not None and flagged.name == "prod"
    assert flagged.username == "flag@acme.com"


def test_env_session_without_profile(tmp_path: Path) -> None:
    org = load(None, {"SFEXIT_INSTANCE_URL": "https://acme.my.salesforce.com",
                      "SFEXIT_ACCESS_TOKEN": "00D000000000001!AQ.x"}).org
    assert org is not None and org.auth == "session"
    assert org.instance_url == "https://acme.my.salesforce.com"


def test_env_values_read_once_and_hidden_in_repr() -> None:
    settings = load(None, {"SFEXIT_PASSWORD": "hunter2hunter2", "NO_COLOR": "1",
                           "REQUESTS_CA_BUNDLE": "/etc/ca.pem"})
    assert settings.env.secret("password") == "hunter2hunter2"
    assert settings.no_color is True
    assert settings.env.requests_ca_bundle == "/etc/ca.pem"
    assert "hunter2" not in repr(settings)


def test_contract_section_is_typed(tmp_path: Path) -> None:
    path = write(tmp_path, """
[contract]
start = 2025-01-01
end = "2027-12-31"
paid = "36000.00"
currency = "eur"
fee = "10%"
notice_days = 30
""")
    c = load(path).contract
    assert c == ContractSettings(start=dt.date(2025, 1, 1), end=dt.date(2027, 12, 31),
                                 paid=Decimal("36000.00"), currency="EUR", fee="10%",
                                 notice_days=30)


def test_leave_and_notice_sections_are_typed(tmp_path: Path) -> None:
    path = write(tmp_path, """
[contract]
start = 2025-03-01
end = 2026-02-28
leave = "Early"
effective = 2025-09-01

[notice]
company = "Acme Ltd"
signer = "Jane Doe"
title = "COO"
""")
    settings = load(path)
    assert (settings.contract.leave, settings.contract.effective) == ("early",
                                                                      dt.date(2025, 9, 1))
    assert settings.notice == NoticeSettings("Acme Ltd", "Jane Doe", "COO")
    assert load(write(tmp_path, "")).contract.leave == "end-of-term"


def test_example_config_is_valid() -> None:
    settings = load(EXAMPLE, org="prod")
    assert settings.org is not None and settings.org.auth == "jwt"
    assert settings.contract.fee is not None


@pytest.mark.parametrize(("text", "message"), [
    ('[contrat]\nstart = 2025-01-01\n', "contrat: unknown key (did you mean 'contract'?) "
                                         "(allowed: contract, default_org, "
                                         "export, notice, offboard, orgs, report, users)"),
    ('[contract]\nstart = "31/01/2025"\n', "contract.start: expected a date like 2025-01-31, "
                                            "got '31/01/2025'"),
    ('[contract]\nnotice_days = "thirty"\n', "contract.notice_days: expected a whole number "
                                              "≥ 0, got 'thirty'"),
    ('[contract]\nfee = "ten"\n', "contract.fee: must be an amount like \"500.00\" or a "
                                  "percentage like \"10%\" (got 'ten')"),
    ('[contract]\nstart = 2025-01-01\nend = 2024-12-31\n',
     "contract.end: must not be before contract.start (end is the term's last day)"),
    ('[contract]\nleave = "now"\n',
     "contract.leave: must be \"end-of-term\" or \"early\" (got 'now')"),
    ('[contract]\nleave = "early"\n', "contract.effective: required with leave = \"early\" "
                                      "(the day the early termination takes effect)"),
    ('[contract]\neffective = 2025-06-01\n', "contract.effective: only for leave = \"early\"; "
                                             "a non-renewal ends on contract.end"),
    ('[contract]\nstart = 2025-01-01\nend = 2025-12-31\nleave = "early"\n'
     'effective = 2026-01-01\n', "contract.effective: 2026-01-01 is outside the term "
                                 "2025-01-01 to 2025-12-31"),
    ('[notice]\nsigner = 5\n', "notice.signer: expected a non-empty string, got 5"),
    ('[notice]\nname = "x"\n', "notice.name: unknown key (allowed: company, signer, title)"),
    ('[export]\nparallel = 0\n', "export.parallel: must be between 1 and 32 (got 0)"),
    ('[export]\ndest = "s3:/bucket/x"\n', "export.dest: s3:/bucket/x: not a storage URL (it "
                                         "would be a folder named s3:)"),
    ('[export]\ndest = "ftp://host/x"\n', "export.dest: ftp://host/x: unknown storage "
                                         "scheme 'ftp'"),
    ('[export]\ndest = "s3://b//x"\n', "export.dest: s3://b//x: no bucket, or an empty"),
    ('[export]\ndest_url = "s3://b/x"\n', "export.dest_url: unknown key"),
    ('[users]\nkeep = "a@b.c"\n', "users.keep: expected a list of strings, got 'a@b.c'"),
    ('[orgs.x]\nauth = "oauth"\n', "orgs.x.auth: must be one of jwt, client_credentials, web, "
                                   "refresh_token, password, soap, sf, session (got 'oauth')"),
    ('[orgs.x]\nauth = "jwt"\nusername = "u"\n', "orgs.x.consumer_key: required for "
                                                 "auth = \"jwt\""),
    ('[orgs.x]\nlogin_url = "http://login.example.com"\nauth="web"\nconsumer_key="k"\n',
     "orgs.x.login_url: http://login.example.com is not HTTPS; sfexit only connects over "
     "https://"),
    ('[orgs.x]\npassword = "hunter2"\n', "orgs.x.password: secrets do not belong in the config "
                                         "file (run `sfexit login` to store it in the keyring "
                                         "or set SFEXIT_PASSWORD)"),
    ('[orgs.x]\nsandbox = "maybe"\n', "orgs.x.sandbox: expected true or false, got 'maybe'"),
    ('[orgs.x]\nloginurl = "https://a.b"\n', "orgs.x.loginurl: unknown key (did you mean "
                                             "'login_url'?) (allowed: "
                                             "api_version, auth, ca_bundle, consumer_key, "
                                             "instance_url, key_file, login_url, redirect_uri, "
                                             "sandbox, sf_alias, sf_path, username)"),
    ('[report]\nlang = "sv"\n', "report.lang: must be one of en, da, de, fr, it, nl (got 'sv')"),
    ('[contract\n', "not valid TOML"),
])
def test_invalid_config_is_one_line_naming_file_and_key(tmp_path: Path, text: str,
                                                        message: str) -> None:
    path = write(tmp_path, text)
    line = error_of(path)
    assert line.startswith(f"{path}: ")
    assert message in line
    assert "\n" not in line


def test_unknown_org_names_the_profiles(tmp_path: Path) -> None:
    path = write(tmp_path, PROFILE)
    assert error_of(path, org="staging") == (f"{path}: --org: no org profile [orgs.staging] "
                                             "(profiles: prod, sandbox)")


def test_env_value_is_validated_like_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, PROFILE)
    line = error_of(path, {"SFEXIT_LOGIN_URL": "http://evil.example"})
    assert line == (f"{path}: orgs.prod.login_url: http://evil.example is not HTTPS; sfexit "
                    "only connects over https://")


def test_missing_ca_bundle_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[orgs.j]\nauth = "sf"\nsf_alias = "a"\n'
                           'ca_bundle = "/nonexistent/ca.pem"\n')
    assert error_of(path) == (f"{path}: orgs.j.ca_bundle: /nonexistent/ca.pem does not exist")


def test_login_url_default_is_production(tmp_path: Path) -> None:
    path = write(tmp_path, '[orgs.w]\nconsumer_key = "k"\n')
    org = load(path).org
    assert org is not None and org.auth == "web" and org.login_url == PRODUCTION_LOGIN_URL


@pytest.mark.parametrize("dest, url", [("s3://Bucket/exits/acme/", "s3://Bucket/exits/acme"),
                                       ("GS://b/x", "gs://b/x"), ("az://container", "az://container")])
def test_export_dest_may_be_a_storage_url(tmp_path: Path, dest: str, url: str) -> None:
    settings = load(write(tmp_path, f'[export]\ndest = "{dest}"\n'))
    assert settings.export.dest_url == url and settings.export.dest is None


def test_export_dest_as_a_directory_is_a_path(tmp_path: Path) -> None:
    settings = load(write(tmp_path, '[export]\ndest = "~/backups"\n'))
    assert settings.export.dest == Path("~/backups").expanduser()
    assert settings.export.dest_url is None
