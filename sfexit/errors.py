"""Every error sfexit raises on purpose, each with its exit code and a "what to do" hint.

The CLI's one error boundary (``sfexit.cli``) turns any of these into one line and the
documented exit code; the library raises them and never prints.

Exit codes (README, "Exit codes"):
    0 ok, 1 failure, 2 usage/config, 3 authentication, 4 API limit,
    5 partial success with per-item failures, 130 interrupted.
"""

from __future__ import annotations

from collections.abc import Iterable

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_LIMIT = 4
EXIT_PARTIAL = 5
EXIT_INTERRUPTED = 130


class SfexitError(Exception):
    """Base of every deliberate sfexit error.

    ``message`` says what happened, ``hint`` what to do; both must be free of secrets.
    ``name`` is the machine-readable name used in the ``--json`` error envelope.
    """

    exit_code = EXIT_FAILURE
    name = "SfexitError"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = self.message.replace("\n", " ").strip()
        if self.hint:
            text = f"{text} ({self.hint.strip()})"
        return text


class UsageError(SfexitError):
    """Bad input from the person or script calling us: flags, dates, names."""

    exit_code = EXIT_USAGE
    name = "UsageError"


class ConfigError(UsageError):
    """The config file or an SFEXIT_* variable is wrong; the message names key and file."""

    name = "ConfigError"


class AuthError(SfexitError):
    """Login failed, the session is dead, or a secret is missing."""

    exit_code = EXIT_AUTH
    name = "AuthError"


class KeyringUnavailableError(AuthError):
    """No OS keyring backend: secrets can only come from environment variables."""

    name = "KeyringUnavailableError"


class ApiLimitError(SfexitError):
    """An org limit is spent (REQUEST_LIMIT_EXCEEDED, Bulk job quota, storage)."""

    exit_code = EXIT_LIMIT
    name = "ApiLimitError"


class PausedForLimits(ApiLimitError):
    """A run stopped on purpose before a daily limit's reserve (export/budget.py): what is
    complete is kept, and the same command continues it once the 24-hour window frees up
    (``resume_after``, ISO 8601 UTC)."""

    name = "PausedForLimits"

    def __init__(self, message: str, hint: str | None = None, *,
                 resume_after: str | None = None) -> None:
        super().__init__(message, hint)
        self.resume_after = resume_after


class PartialFailure(SfexitError):
    """The command finished but some items failed; the failures are written somewhere."""

    exit_code = EXIT_PARTIAL
    name = "PartialFailure"


class ReadOnlyViolation(SfexitError):
    """A write was attempted through a read-only (dry-run) session. Always a bug."""

    name = "ReadOnlyViolation"


class SalesforceError(SfexitError):
    """The org answered with an error we do not handle more specifically.

    ``error_code`` is Salesforce's ``errorCode`` (or OAuth ``error``), ``status`` the HTTP status.
    """

    name = "SalesforceError"

    def __init__(
        self,
        message: str,
        *,
        error_code: str | None = None,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.error_code = error_code
        self.status = status
        if error_code:
            self.name = error_code


class ConnectionFailed(SfexitError):
    """The org could not be reached (DNS, TLS, refused) after the retries."""

    name = "ConnectionFailed"


class ServerAnswerError(SfexitError):
    """The org, or a proxy before it, answered something that is not the API's answer: an HTML
    page, cut or invalid JSON, an empty body, JSON of the wrong shape (``org/answers.py``)."""

    name = "ServerAnswerError"

    def __init__(self, message: str,
                 hint: str | None = "the org, or a proxy between sfexit and the org, did not "
                                    "answer as the API does; run the command again (it "
                                    "resumes), and check instance_url and any proxy if it "
                                    "persists") -> None:
        super().__init__(message, hint)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'Account'?)`` for the closest of ``choices`` (case-insensitive), or
    an empty string when none is close."""
    import difflib

    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.75)
    return f" (did you mean {by_lower[close[0]]!r}?)" if close else ""
