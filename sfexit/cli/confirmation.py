"""The confirmation rule, checked before anything else: a command that changes the org asks,
and with no terminal to ask and no ``--yes`` it refuses at once, before it logs in, reads the
org or writes a plan, run directory or journal (issue 19, "Side effects before validation").

The question itself is asked later, once the plan is known (``AppContext.confirm``); this
module only decides, up front, whether it could be asked at all.
"""

from __future__ import annotations

import sys

from sfexit import errors


def can_ask() -> bool:
    """A person is there to answer: both stdin and stderr are terminals."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def require_confirmation_possible(yes: bool, what: str) -> None:
    """Refuse (exit 2) when ``what`` will need a confirmation nobody can give.

    ``yes``: --yes was given (globally or on the command). Raises UsageError.
    """
    if yes or can_ask():
        return
    raise errors.UsageError(f"{what} needs a confirmation and there is no terminal to ask "
                            "(confirmation needed); nothing was read or written",
                            hint="read the plan with --dry-run, then run again with --yes")
