"""Cloud storage: ``s3://``, ``gs://`` and ``az://`` through fsspec, for the archive
(docs/archive.md, "Cloud destinations") and the export (docs/cloud-export.md). Both use it,
so it sits below both (the export never imports the archive: pyproject.toml's contracts).

Cloud storage is not the org: this is sfexit's own I/O to its destinations, and it goes
through fsspec and its per-provider packages (s3fs, gcsfs, adlfs; each an extra:
``pip install 'sfexit[s3]'``), never through ``sfexit.org``. Credentials come from each provider's usual chain (for S3 the
AWS chain: environment, ``~/.aws`` profiles, instance roles; for GCS Application Default
Credentials; for Azure ``AZURE_STORAGE_CONNECTION_STRING`` or ``AZURE_STORAGE_ACCOUNT_NAME``
with a key, a SAS or DefaultAzureCredential), read by the provider's own library; sfexit
never reads, stores or prints them. The store's address likewise: ``--endpoint-url`` for s3://
and gs://, the connection string's ``BlobEndpoint`` for az:// (docs/cloud-export.md,
"Endpoints and credentials").

Every storage error ends as one line with its exit code (``storage_errors``): a missing
extra or bucket 2, refused credentials 3, anything else 1. The checked transfers (uploads and
copies whose SHA-256 is compared, the resume proof) are storage_checked.py's.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sfexit.errors import AuthError, SfexitError, UsageError

# scheme → (fsspec protocol, the package that implements it, the sfexit extra that installs it)
PROVIDERS = {
    "s3": ("s3", "s3fs", "s3"),
    "gs": ("gcs", "gcsfs", "gcs"),
    "az": ("abfs", "adlfs", "azure"),
}
# The schemes whose store's address --endpoint-url gives (s3fs's and gcsfs's endpoint_url). An
# Azure store's address is its account's, from the connection string the Azure tools read
# (AZURE_STORAGE_CONNECTION_STRING's BlobEndpoint: Azurite's documented way), read by adlfs.
ENDPOINT_SCHEMES = ("s3", "gs")


@dataclass(frozen=True)
class Remote:
    """An archive's place in cloud storage: ``s3://bucket/prefix``."""

    url: str                      # as given, without a trailing slash
    scheme: str                   # s3 | gs | az
    bucket: str
    prefix: str                   # "" for the bucket's root
    endpoint_url: str | None = None

    @property
    def root(self) -> str:
        """The archive's path for fsspec: ``bucket/prefix``."""
        return f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket

    def key(self, relative: str) -> str:
        return f"{self.root}/{relative}"


def parse_remote(text: str, endpoint_url: str | None = None) -> Remote | None:
    """``text`` as a cloud URL, or None when it has no scheme (a local path).

    Raises UsageError for an unknown scheme, a URL without a bucket or with empty path
    segments, or ``--endpoint-url`` with an ``az://`` URL."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        # "s3:/bucket", "S3:bucket": a URL mistyped, not a folder "s3:" to create here.
        if (typo := re.match(r"([A-Za-z0-9]+):", text)) and typo[1].lower() in PROVIDERS:
            raise UsageError(f"{text}: not a storage URL (it would be a folder named "
                             f"{typo[0]})", hint=f"give {typo[1].lower()}://BUCKET/PREFIX")
        return None
    if scheme.lower() not in PROVIDERS:
        raise UsageError(f"{text}: unknown storage scheme {scheme!r}",
                         hint="give a directory, or an s3://, gs:// or az:// URL")
    rest = rest.rstrip("/")
    bucket, _, prefix = rest.partition("/")
    if not bucket or "//" in rest or any(part in (".", "..") for part in prefix.split("/")):
        raise UsageError(f"{text}: no bucket, or an empty, '.' or '..' segment in the URL",
                         hint=f"give {scheme}://BUCKET/PREFIX")
    if endpoint_url:
        check_endpoint(endpoint_url, scheme.lower())
    return Remote(url=f"{scheme.lower()}://{rest}", scheme=scheme.lower(),
                  bucket=bucket, prefix=prefix, endpoint_url=endpoint_url)


def check_endpoint(endpoint_url: str, scheme: str) -> None:
    """``--endpoint-url``: for s3:// and gs:// (ENDPOINT_SCHEMES), and HTTPS unless on
    loopback (a store's emulator in a test, a local MinIO): as for the org, the archive never
    travels unencrypted over a network (README, "Safety"). Raises UsageError."""
    if scheme not in ENDPOINT_SCHEMES:
        raise UsageError(ENDPOINT_MISUSED, hint=ENDPOINT_HINT)
    parsed = urllib.parse.urlsplit(endpoint_url)
    if parsed.scheme != "https" and not (parsed.scheme == "http" and _loopback(endpoint_url)):
        raise UsageError(f"--endpoint-url {endpoint_url}: give an https:// URL",
                         hint="plain http:// is accepted only on loopback (127.0.0.1, "
                              "localhost)")


@contextlib.contextmanager
def storage_errors(remote: Remote, doing: str) -> Iterator[None]:
    """Any error of the storage library as one line with a documented exit code."""
    try:
        yield
    except SfexitError:
        raise
    except FileNotFoundError as exc:
        raise UsageError(f"{remote.url}: {doing}: no such bucket or container "
                         f"({reason(exc)})", hint="create it first, or check the URL") from exc
    except PermissionError as exc:
        raise AuthError(f"{remote.url}: {doing}: access denied ({reason(exc)})",
                        hint=f"check {CREDENTIALS[remote.scheme]} and their permissions"
                        ) from exc
    except Exception as exc:
        # botocore's NoCredentialsError, PartialCredentialsError, CredentialRetrievalError;
        # azure's ClientAuthenticationError, CredentialUnavailableError: matched by name so
        # that sfexit imports no provider's package for them.
        if any(word in type(exc).__name__ for word in ("Credential", "Authentication")):
            raise AuthError(f"{remote.url}: {doing}: no usable credentials ({reason(exc)})",
                            hint=f"set {CREDENTIALS[remote.scheme]}") from exc
        raise SfexitError(f"{remote.url}: {doing} failed ({reason(exc)})",
                          hint=f"check the URL, {endpoint_in_use(remote)} and the network, "
                               "then run the same command again") from exc


# Where each store's address comes from when --endpoint-url is not given (README, "Commands"):
# a new admin who exported with --endpoint-url and verifies without it reaches AWS instead.
ENDPOINT_FROM = {"s3": "the endpoint (--endpoint-url, or AWS_ENDPOINT_URL, for a store that "
                       "is not AWS)",
                 "gs": "the endpoint (--endpoint-url, for a store that is not Google's)",
                 "az": "the endpoint (the BlobEndpoint of AZURE_STORAGE_CONNECTION_STRING)"}


def endpoint_in_use(remote: Remote) -> str:
    """The endpoint a storage error asks to check: the one given, or where one is given."""
    if remote.endpoint_url:
        return f"the endpoint {remote.endpoint_url}"
    return ENDPOINT_FROM.get(remote.scheme, "the endpoint")


# Where each provider's tools look for credentials first (the providers' own docs), for hints.
CREDENTIALS = {
    "s3": "the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a "
          "role)",
    "gs": "the Google credentials (GOOGLE_APPLICATION_CREDENTIALS, or `gcloud auth "
          "application-default login`)",
    "az": "the Azure credentials (AZURE_STORAGE_CONNECTION_STRING, or "
          "AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY, a SAS or `az login`)",
}
ENDPOINT_MISUSED = "--endpoint-url is for s3:// and gs:// destinations"
ENDPOINT_HINT = ("an az:// store's address is the BlobEndpoint of "
                 "AZURE_STORAGE_CONNECTION_STRING, as for the Azure tools")


def _loopback(endpoint_url: str) -> bool:
    return urllib.parse.urlsplit(endpoint_url).hostname in ("localhost", "127.0.0.1", "::1")


def reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# The waits between connection attempts to a store's endpoint that does not answer (Reach):
# about 14 s in all, then one line. The providers' own retries of a refused connection run
# silently for ~8 s (s3fs), ~35 s (gcsfs) and ~165 s (adlfs) before their error.
REACH_WAITS = (2.0, 4.0, 8.0)
REACH_TIMEOUT = 5.0   # seconds for one connection: a host that drops packets answers nothing


@dataclass(frozen=True)
class Reach:
    """How the first contact with a store waits for its endpoint: ``on_retry`` gets a line
    before each wait (the CLI prints it), ``sleep`` waits (tests pass a clock's)."""

    on_retry: Callable[[str], None] = lambda _line: None
    sleep: Callable[[float], None] = time.sleep
    waits: tuple[float, ...] = REACH_WAITS


def open_store(remote: Remote, reach: Reach | None = None) -> Any:
    """The fsspec filesystem of ``remote``, once its endpoint answers (``wait_for_endpoint``,
    ``reach``). Raises UsageError (exit 2) naming the extra to install when its package is
    missing; SfexitError (exit 1) when the endpoint never answers."""
    protocol, package, extra = PROVIDERS[remote.scheme]
    try:
        cls = _filesystem_class(remote.scheme, protocol)
    except ImportError as exc:
        raise UsageError(f"{remote.url} needs {package}, which is not installed",
                         hint=f"pip install 'sfexit[{extra}]'") from exc
    options: dict[str, Any] = {"skip_instance_cache": True}
    if remote.endpoint_url:
        # Otherwise botocore reads AWS_ENDPOINT_URL(_S3) and the profile's endpoint_url itself.
        options["endpoint_url"] = remote.endpoint_url
        if remote.scheme == "gs" and _loopback(remote.endpoint_url):
            # A GCS emulator: no credentials, as google-cloud-storage sends none to
            # STORAGE_EMULATOR_HOST (Client.__init__); the chain would first ask the GCE
            # metadata server, off this machine.
            options["token"] = "anon"
    with storage_errors(remote, "connecting"):
        fs = cls(**options)
    wait_for_endpoint(remote, endpoint_of(fs, remote), reach or Reach())
    return fs


def endpoint_of(fs: Any, remote: Remote) -> str | None:
    """``scheme://host:port`` of the store's endpoint when sfexit knows it: --endpoint-url, or
    an az:// store's account URL (the connection string's BlobEndpoint, as adlfs read it);
    None for the providers' own (AWS, Google), which their libraries resolve. No path or
    query: an account URL may carry a SAS token."""
    url = remote.endpoint_url
    if url is None and remote.scheme == "az":
        url = getattr(getattr(fs, "service_client", None), "url", None)
    if not isinstance(url, str):
        return None
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}:{port}"


def wait_for_endpoint(remote: Remote, endpoint: str | None, reach: Reach) -> None:
    """Connect to ``endpoint`` (TCP only, nothing sent) before the provider's library is
    asked anything, trying again after each of ``reach.waits`` with one line each, so an
    endpoint that does not answer (a typo, a store not started) is said within seconds
    instead of the library's silent retries. Raises SfexitError (exit 1) when it never
    answers."""
    if endpoint is None:
        return
    parts = urllib.parse.urlsplit(endpoint)
    if _proxied(parts.scheme, parts.hostname or ""):
        return   # reached through a proxy: a direct connection says nothing of it
    address = (parts.hostname or "", parts.port or 443)
    attempts = len(reach.waits) + 1
    for attempt in range(1, attempts + 1):
        try:
            socket.create_connection(address, timeout=REACH_TIMEOUT).close()
            return
        except OSError as exc:
            if attempt == attempts:
                raise SfexitError(f"{remote.url}: could not reach {endpoint} after "
                                  f"{attempts} attempts ({reason(exc)})",
                                  hint=f"check the URL, {endpoint_in_use(remote)} and the "
                                       "network, then run the same command again") from exc
            wait = reach.waits[attempt - 1]
            reach.on_retry(f"could not reach {endpoint}; trying again in {wait:g} s "
                           f"(attempt {attempt + 1} of {attempts})")
            reach.sleep(wait)


def _proxied(scheme: str, host: str) -> bool:
    """Whether the environment sends ``scheme`` requests to ``host`` through a proxy
    (HTTPS_PROXY / HTTP_PROXY, unless NO_PROXY names the host), as the providers' libraries
    do: behind a corporate proxy a direct connection may be refused where theirs works."""
    import urllib.request

    return bool(urllib.request.getproxies().get(scheme)) and not urllib.request.proxy_bypass(host)


def _filesystem_class(scheme: str, protocol: str) -> Any:
    """fsspec's class for ``protocol``; for gs:// gcsfs's JSON-API one. Since gcsfs 2025.x
    the registered class is ExtendedGcsFileSystem (GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT, on by
    default), which first asks the Storage Control API over gRPC for each bucket's layout;
    an endpoint that does not speak it (every emulator) costs 60 s per bucket, retried on
    every call. sfexit writes plain objects: the JSON API does all it needs."""
    if scheme == "gs":
        import gcsfs.core
        return gcsfs.core.GCSFileSystem
    import fsspec
    return fsspec.get_filesystem_class(protocol)


def listing(fs: Any, remote: Remote) -> dict[str, int]:
    """Every object under the archive's prefix: path relative to it → size."""
    fs.invalidate_cache()
    with storage_errors(remote, "listing"):
        found = fs.find(remote.root, detail=True)
        if not found and remote.scheme == "az" and not fs.exists(remote.bucket):
            # adlfs lists a missing container as empty; s3fs and gcsfs raise.
            raise FileNotFoundError(remote.bucket)
    cut = len(remote.root) + 1
    return {name[cut:]: int(info.get("size") or 0) for name, info in found.items()
            if info.get("type") != "directory" and len(name) > cut}


def read(fs: Any, remote: Remote, relative: str) -> bytes:
    with storage_errors(remote, f"reading {relative}"):
        data: bytes = fs.cat_file(remote.key(relative))
    return data


def get(fs: Any, remote: Remote, relative: str, into: Path) -> None:
    """Download one object to ``into / relative``; a key that would land outside ``into``
    (``..``, an absolute path) is refused: the bucket is not trusted."""
    parts = PurePosixPath(relative).parts
    if not parts or relative.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise SfexitError(f"{remote.url}: refusing the object {relative!r} (its path leaves "
                          "the archive)")
    target = into.joinpath(*parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    with storage_errors(remote, f"downloading {relative}"):
        fs.get_file(remote.key(relative), str(target))


def remove(fs: Any, remote: Remote, relatives: list[str]) -> list[str]:
    """Delete these objects as far as possible; the ones that could not be deleted."""
    left = []
    for relative in relatives:
        try:
            fs.rm_file(remote.key(relative))
        except Exception:   # best effort: the caller names what is left
            left.append(relative)
    return left
