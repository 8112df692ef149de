"""How the command line reports: its exit codes, an error as one line on stderr, and the
fresh line after Ctrl-C."""

from __future__ import annotations

import sys
import traceback

from .. import errors

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_PROVIDER_ERROR",
    "EXIT_USAGE",
    "USAGE_ERRORS",
    "fresh_line",
    "report",
]

EXIT_PROVIDER_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
"""128 + SIGINT, as a shell reports a command that Ctrl-C stopped."""
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: whoever read stdout went away (``| head``), as a shell reports ``cat``."""
USAGE_ERRORS = (errors.InvalidRequestError, errors.ProviderNotFoundError)
"""Errors about what was typed, raised before any request: exit code 2."""


def report(error: BaseException, debug: bool = False) -> None:
    """One line on stderr (after the traceback with ``debug``), with the command-line
    way out when the message gives the Python one (``ignore_working=True``,
    ``api_key=...``)."""
    if debug:
        traceback.print_exception(type(error), error, error.__traceback__)
    message = " ".join(str(error).split())
    if _not_working(error):
        message += " (on the command line: --provider NAME --ignore-working, or --base-url URL)"
    elif isinstance(error, errors.MissingAuthError):
        message += " (on the command line: --api-key KEY)"
    print(f"g4f-sync: {type(error).__name__}: {message}", file=sys.stderr, flush=True)


def _not_working(error: BaseException) -> bool:
    """Whether the error comes of a provider marked as not working: the CLI says how to
    call it anyway."""
    if isinstance(error, errors.ProviderNotWorkingError):
        return error.marked
    return isinstance(error, errors.ProviderNotFoundError) and any(
        why == "not working" for _, why in error.considered
    )


def fresh_line() -> None:
    """End the line the terminal echoed ``^C`` on, so that what comes next (the prompt,
    the shell's) starts a line of its own; nothing when no output is a terminal."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and stream.isatty():
            stream.write("\n")
            stream.flush()
            return
