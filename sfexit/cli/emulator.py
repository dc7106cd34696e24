"""``sfexit emulator serve``: a thin alias of ``sfexit-emulator serve``, when it is installed.

The emulator is its own distribution (``sfexit-emulator``, the ``demo`` and ``test`` extras pull
it). It is imported only when the command runs, so ``sfexit --help`` never pays for it and an
install without the extra still lists the command and says what to install.
"""

from __future__ import annotations

from typing import Any

import click

from sfexit import errors

INSTALL_HINT = "install it with: pip install 'sfexit[demo]'"


def emulator_or_refuse() -> Any:
    """The ``sfexit_emulator`` package. Raises UsageError (exit 2) naming what to install."""
    try:
        import sfexit_emulator
    except ImportError:
        raise errors.UsageError("the org emulator (sfexit-emulator) is not installed",
                                INSTALL_HINT) from None
    return sfexit_emulator


class _EmulatorAlias(click.Group):
    """Lists ``serve`` always; loads the emulator's own command only when it is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return ["serve"]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name != "serve":
            return None
        try:
            from sfexit_emulator.cli import serve
        except ImportError:
            return _missing_serve
        return serve


@click.command("serve", context_settings={"ignore_unknown_options": True,
                                         "allow_extra_args": True, "help_option_names": []})
def _missing_serve() -> None:
    """Serve an emulated org on loopback (needs the sfexit-emulator distribution)."""
    emulator_or_refuse()


@click.group("emulator", cls=_EmulatorAlias)
def emulator_group() -> None:
    """The Salesforce org emulator (sfexit-emulator), for tests, demos and benchmarks."""
