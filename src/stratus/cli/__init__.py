"""The ``stratus`` command line, shaped like ``az ml``: each command is a thin call into the SDK.

``run`` is the console script (``main`` would clash with the ``stratus.cli.main`` module). It answers
``stratus --version`` before Typer, Rich and the command tree are imported (they take most of a start);
anything else goes to the Typer app in ``stratus.cli.main``.
"""

from __future__ import annotations

import sys


def run() -> None:
    if sys.argv[1:] == ["--version"]:
        from stratus._version import __version__

        print(__version__)
        return
    from stratus.cli.main import main

    main()
