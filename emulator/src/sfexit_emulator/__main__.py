"""``python -m sfexit_emulator serve``: the same as the ``sfexit-emulator`` console script."""

from sfexit_emulator.cli import main

main()
