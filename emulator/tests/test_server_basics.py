"""The emulator's HTTP layer: TLS, keep-alive, versions, 404s, gzip, chunked bodies, loopback."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import ssl
import warnings
from datetime import datetime, timezone

import pytest
import requests

from sfexit_emulator import Emulator
from sfexit_emulator.server import EmulatorHTTPServer

VERSIONS = [f"{v}.0" for v in range(31, 69)]


def _get(org: Emulator, path: str, token: str | None = None, **headers: str) -> requests.Response:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(org.url + path, headers=headers, verify=str(org.ca_file), timeout=30)


def test_tls_certificate_verifies_for_ip_and_localhost(emulator: Emulator) -> None:
    context = ssl.create_default_context(cafile=str(emulator.ca_file))
    for host in ("127.0.0.1", "localhost"):
        with socket.create_connection(("127.0.0.1", emulator.port)) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_tls_refuses_tls_1_1(emulator: Emulator) -> None:
    context = ssl.create_default_context(cafile=str(emulator.ca_file))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.maximum_version = ssl.TLSVersion.TLSv1_1
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    with socket.create_connection(("127.0.0.1", emulator.port)) as raw:
        with pytest.raises(ssl.SSLError):
            context.wrap_socket(raw, server_hostname="127.0.0.1")


def test_ca_certificate_is_a_ca() -> None:
    from cryptography import x509

    with Emulator(records=2000, seed=1) as org:
        cert = x509.load_pem_x509_certificate(org.ca_file.read_bytes())  # type: ignore[union-attr]
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
        assert constraints.critical and constraints.value.ca


def test_versions_list_with_and_without_slash_needs_no_auth(emulator: Emulator) -> None:
    for path in ("/services/data", "/services/data/"):
        response = _get(emulator, path)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
        assert "Sforce-Limit-Info" not in response.headers
        body = response.json()
        assert [entry["version"] for entry in body] == VERSIONS
        assert body[0] == {"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"}
        assert body[-1] == {"label": "Winter '27", "url": "/services/data/v68.0",
                            "version": "68.0"}
        labels = {entry["version"]: entry["label"] for entry in body}
        assert labels["50.0"] == "Winter '21" and labels["64.0"] == "Summer '25"


@pytest.mark.parametrize("version", ["50.0", "51.0", "64.0", "68.0"])
@pytest.mark.parametrize("slash", ["", "/"])
def test_resources_map_has_absolute_identity(emulator: Emulator, version: str, slash: str) -> None:
    response = _get(emulator, f"/services/data/v{version}{slash}", emulator.token)
    assert response.status_code == 200
    body = response.json()
    assert body["sobjects"] == f"/services/data/v{version}/sobjects"
    assert body["query"] == f"/services/data/v{version}/query"
    assert body["identity"].startswith(f"{emulator.url}/id/")
    org18, user18 = body["identity"].rsplit("/", 2)[-2:]
    assert len(org18) == 18 and org18.startswith("00D") and user18.startswith("005")
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")


def test_resources_map_needs_a_session(emulator: Emulator) -> None:
    response = _get(emulator, "/services/data/v68.0")
    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid",
                                "errorCode": "INVALID_SESSION_ID"}]


def test_unknown_route_and_unknown_version_are_not_found(emulator: Emulator) -> None:
    expected = [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
    for path in ("/nope", "/services/data/v68.0/no/such/thing/here", "/services/data/v20.0",
                 "/services/data/v69.0/limits"):
        response = _get(emulator, path, emulator.token)
        assert response.status_code == 404, path
        assert response.json() == expected


def test_retired_versions_answer_410_and_31_to_40_retire_in_summer_28(fresh_emulator: Emulator) -> None:
    """KB 000354473 (21.0–30.0 retired in Summer '25: REST answers 410 GONE) and KB 005321531
    (31.0–40.0 retired in Summer '28), on the emulator's clock."""
    org = fresh_emulator
    gone = _get(org, "/services/data/v30.0/limits", org.token)
    assert gone.status_code == 410 and gone.json()[0]["errorCode"] == "GONE"
    assert _get(org, "/services/data/v40.0/limits", org.token).status_code == 200
    org.clock.set(datetime(2028, 7, 1, tzinfo=timezone.utc))
    assert _get(org, "/services/data/v40.0/limits", org.token).status_code == 410
    assert _get(org, "/services/data/v41.0/limits", org.token).status_code == 200
    listed = [entry["version"] for entry in _get(org, "/services/data").json()]
    assert listed[0] == "41.0" and "40.0" not in listed


def test_sf_style_headers_on_get_are_accepted(emulator: Emulator) -> None:
    response = _get(emulator, "/services/data/v51.0", emulator.token,
                    **{"content-type": "application/json", "Sforce-Call-Options":
                       "client=sfdx toolbelt:", "user-agent": "sfdx toolbelt:"})
    assert response.status_code == 200


def test_keep_alive_reuses_one_connection(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    context = ssl.create_default_context(cafile=str(org.ca_file))
    conn = http.client.HTTPSConnection("127.0.0.1", org.port, context=context)
    for path in ("/services/data", "/nope", "/services/data/v68.0"):
        conn.request("GET", path)
        response = conn.getresponse()
        assert response.getheader("Content-Length") == str(len(response.read()))
    conn.close()
    assert org.stats()["connections"] == 1


def test_gzip_for_large_bodies_only(emulator: Emulator) -> None:
    context = ssl.create_default_context(cafile=str(emulator.ca_file))
    conn = http.client.HTTPSConnection("127.0.0.1", emulator.port, context=context)
    conn.request("GET", "/services/data", headers={"Accept-Encoding": "gzip"})
    big = conn.getresponse()
    raw = big.read()
    assert big.getheader("Content-Encoding") == "gzip"
    assert int(big.getheader("Content-Length") or 0) == len(raw)
    assert json.loads(gzip.decompress(raw))[-1]["version"] == "68.0"
    conn.request("GET", "/nope", headers={"Accept-Encoding": "gzip"})
    tiny = conn.getresponse()
    tiny.read()
    assert tiny.getheader("Content-Encoding") is None
    conn.close()


def test_chunked_request_body_is_decoded(fresh_emulator: Emulator) -> None:
    org = fresh_emulator

    def chunks():  # requests sends a generator with Transfer-Encoding: chunked
        yield b'{"latency_ms": 0, '
        yield b'"fault_seed": 42}'

    session = requests.Session()
    response = session.post(org.url + "/__emulator__/faults", data=chunks(),
                            headers={"Content-Type": "application/json"},
                            verify=str(org.ca_file))
    assert response.status_code == 200
    assert response.json()["fault_seed"] == 42
    # The connection is still usable: the chunked body was read to its end.
    assert session.get(org.url + "/services/data", verify=str(org.ca_file)).status_code == 200
    assert org.stats()["connections"] == 1


def test_plain_http_with_no_tls() -> None:
    with Emulator(tls=False) as org:
        assert org.url.startswith("http://127.0.0.1:")
        assert org.ca_file is None
        assert requests.get(org.url + "/services/data", timeout=30).status_code == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
def test_refuses_non_loopback_bind(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        Emulator(host=host)
    with pytest.raises(ValueError, match="loopback"):
        EmulatorHTTPServer(host, 0, None, None)  # type: ignore[arg-type]


def test_admin_token_is_accepted_as_given() -> None:
    with Emulator(admin_token="my-own-token") as org:
        assert org.token == "my-own-token"
        assert _get(org, "/services/data/v68.0", "my-own-token").status_code == 200


def test_issued_admin_token_has_salesforce_shape(emulator: Emulator) -> None:
    import re

    assert re.fullmatch(r"(00D\w{12,15})![.\w]*", emulator.token)
    assert emulator.token.startswith(emulator.org_id[:15] + "!")


def test_emulator_api_without_with_and_cleanup(tmp_path) -> None:
    ca_file = tmp_path / "given-ca.pem"
    org = Emulator(ca_file=ca_file).start()
    try:
        assert org.ca_file == ca_file and ca_file.exists()
        creds = org.credentials
        assert creds is not None
        assert creds.jwt_key_file.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
        assert creds.consumer_key.startswith("3MVG9") and len(creds.consumer_key) == 85
        assert creds.redirect_uri == "http://localhost:1717/OauthRedirect"
        assert org.store.org_id == org.org_id
        key_dir = creds.jwt_key_file.parent
    finally:
        org.stop()
    assert not key_dir.exists()
    assert ca_file.exists()  # a CA file the caller chose is left in place


def test_wrong_method_is_405(emulator: Emulator) -> None:
    response = requests.put(f"{emulator.url}/services/data/v68.0/limits",
                            headers={"Authorization": f"Bearer {emulator.token}"},
                            verify=str(emulator.ca_file), timeout=30)
    assert response.status_code == 405
    assert response.json() == [{"message": "HTTP Method 'PUT' not allowed. Allowed are GET,HEAD",
                                "errorCode": "METHOD_NOT_ALLOWED"}]


def test_head_has_headers_and_no_body(emulator: Emulator) -> None:
    response = requests.head(f"{emulator.url}/services/data", verify=str(emulator.ca_file),
                             timeout=30)
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) > 0 and response.content == b""


def test_concurrent_clients(emulator: Emulator) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def client(n: int) -> list[int]:
        http = requests.Session()
        http.verify = str(emulator.ca_file)
        http.trust_env = False
        http.headers["Authorization"] = f"Bearer {emulator.token}"
        codes = []
        for i in range(15):
            path = ("/services/data/v68.0/query?q=SELECT+Id,Name+FROM+Account" if i % 2
                    else "/services/data/v68.0/sobjects/Account/describe")
            codes.append(http.get(emulator.url + path).status_code)
        return codes

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(client, range(6)))
    assert all(code == 200 for codes in results for code in codes)


def test_stop_drops_keep_alive_connections(tmp_path) -> None:
    org = Emulator(ca_file=tmp_path / "ca.pem").start()
    http = requests.Session()
    http.verify = str(org.ca_file)
    http.trust_env = False
    assert http.get(org.url + "/services/data").status_code == 200
    server = org._server
    assert server is not None
    org.stop()
    with server._live_lock:
        assert not server._live or all(s.fileno() == -1 for s in server._live)
    with pytest.raises(requests.exceptions.ConnectionError):
        http.get(org.url + "/services/data")


class _Closable:
    def __init__(self, fail: bool = False) -> None:
        self.closed = False
        self.fail = fail

    def close(self) -> None:
        self.closed = True
        if self.fail:
            raise OSError("disk gone")


def test_stop_closes_every_route_extension(capsys: pytest.CaptureFixture[str]) -> None:
    org = Emulator().start()
    try:
        export = org.dataexport
        assert export is org.dataexport   # made once, on first use
        assert org.app is not None and org.app.extensions["dataexport"] is export
        failing, other = _Closable(fail=True), _Closable()
        org.app.extensions.update({"a_failing": failing, "b_other": other, "plain": object()})
    finally:
        org.stop()
    assert failing.closed and other.closed   # one failure does not keep the others open
    assert "closing _Closable failed: disk gone" in capsys.readouterr().err
