"""The ``g4f-sync`` command line: chat with a provider (one question, or interactively on
a terminal), list providers and a server's models, serve the emulator, or run the offline
demo. docs/cli.md has the design: the modes, the signals, what is checked first.

Modules: ``parser`` (the arguments), ``chat`` (the chat command and its prompt),
``session`` (the interactive chat), ``answer`` (one answer on stdout, and Ctrl-C during
it), ``listing`` (``providers``, ``models``), ``demo``, ``reporting`` (exit codes, error
lines).

Exit codes: 0 done; 1 a provider error (one line on stderr, the traceback with
``--debug``); 2 a usage error (a bad option, an unknown provider or model); 130 Ctrl-C,
after the connection was closed; 141 stdout closed by its reader (``| head``), quietly.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

from .. import errors
from .parser import build_parser
from .reporting import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_PROVIDER_ERROR,
    EXIT_USAGE,
    USAGE_ERRORS,
    fresh_line,
    report,
)

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_INTERRUPTED",
    "EXIT_PROVIDER_ERROR",
    "EXIT_USAGE",
    "USAGE_ERRORS",
    "build_parser",
    "main",
    "report",
]


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit code (argparse exits 2 on a bad option)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:  # the `with` blocks on the way out closed the connection
        fresh_line()
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # stdout's reader left (`| head`); the connection is closed
        # Nothing more can be shown: stdout goes to /dev/null so that the interpreter's
        # last flush at exit does not fail again, as Python's documentation advises.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except USAGE_ERRORS as error:
        report(error, args.debug)
        return EXIT_USAGE
    except errors.G4FError as error:
        report(error, args.debug)
        return EXIT_PROVIDER_ERROR
