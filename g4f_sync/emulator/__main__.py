"""``python -m g4f_sync.emulator``: serve the emulator until Ctrl-C."""

import argparse
import sys

from .cli import add_arguments, run


def main() -> int:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(
        prog="python -m g4f_sync.emulator", description="Serve the providers' emulator."
    )
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
