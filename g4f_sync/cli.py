"""The ``g4f-sync`` command line."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from . import __version__

DEMO_PROMPT = "Hello from g4f_sync: this answer streams token by token, with no asyncio anywhere."


def build_parser() -> argparse.ArgumentParser:
    from .emulator import cli as emulator_cli

    parser = argparse.ArgumentParser(prog="g4f-sync", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser("demo", help="stream answers from the embedded emulator (offline)")
    demo.set_defaults(run=run_demo)
    emulate = commands.add_parser("emulate", help="serve the loopback emulator of the providers")
    emulator_cli.add_arguments(emulate)
    emulate.set_defaults(run=emulator_cli.run)
    return parser


def run_demo(args: argparse.Namespace) -> int:
    """Start the emulator, stream one Koala answer from it, print it as it arrives."""
    from .emulator import Emulator
    from .Provider import Koala

    with Emulator() as emulator:
        koala = emulator.provider(Koala, delay=0.02)
        print(f"Koala emulator at {emulator.url}", file=sys.stderr)
        messages = [{"role": "user", "content": DEMO_PROMPT}]
        with koala.create_completion("", messages) as stream:
            for token in stream:
                print(token, end="", flush=True)
        print()
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)
