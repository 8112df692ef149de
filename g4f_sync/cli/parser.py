"""The command line's arguments: one sub-parser per command, each naming the function
that runs it (``args.run``)."""

from __future__ import annotations

import argparse

from .. import __version__
from ..http import DEFAULT_TIMEOUT

__all__ = ["build_parser"]

CHAT_DESCRIPTION = """\
Ask one question, or hold a conversation.

With PROMPT, or with text piped to stdin, ask once and stream the answer to stdout: piped
text is one prompt, put before PROMPT (joined by a space, as llm does); PROMPT '-' reads
the prompt from stdin. Without either, on a terminal: an interactive chat, which checks
the provider first, then keeps the conversation, with line editing and history. Leave it
with 'exit', 'quit', Ctrl-D, or Ctrl-C at the prompt; Ctrl-C during an answer stops that
answer and keeps what came of it.
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``g4f-sync`` parser."""
    from ..emulator import cli as emulator_cli
    from . import chat, demo, listing

    parser = argparse.ArgumentParser(
        prog="g4f-sync",
        description="Chat with gpt4free-style providers, synchronously (no asyncio).",
        epilog="Exit codes: 0 ok, 1 provider error, 2 usage error, 130 interrupted (Ctrl-C).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an error")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    connection = _connection_arguments()
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    chat_parser = commands.add_parser(
        "chat",
        parents=[common, connection],
        help="ask a question, or chat on a terminal",
        description=CHAT_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    chat_parser.add_argument(
        "prompt", nargs="?", metavar="PROMPT", help="the question ('-': read it from stdin)"
    )
    chat_parser.add_argument(
        "-m", "--model", default="", help="model (default: the provider's, or the server's first)"
    )
    chat_parser.add_argument("-s", "--system", help="a system message sent first")
    chat_parser.add_argument(
        "--ignore-working", action="store_true", help="call a provider marked as not working"
    )
    chat_parser.add_argument(
        "--no-stream", action="store_true", help="print the answer once complete"
    )
    chat_parser.add_argument(
        "--json", action="store_true", help="print chunks (or the answer) as JSON"
    )
    chat_parser.set_defaults(run=chat.run_chat)

    models = commands.add_parser(
        "models",
        parents=[common, connection],
        help="list a server's models (or a provider's)",
        description="List the models of an OpenAI-compatible server (GET <base URL>/models),"
        " one id a line, or a provider's fixed list.",
    )
    models.add_argument("--json", action="store_true", help="print the list as JSON")
    models.set_defaults(run=listing.run_models)

    providers = commands.add_parser("providers", parents=[common], help="list the providers")
    providers.add_argument("--json", action="store_true", help="print the list as JSON")
    providers.set_defaults(run=listing.run_providers)

    demo_parser = commands.add_parser(
        "demo",
        parents=[common],
        help="offline: stream answers from the embedded emulator, then a concurrent batch",
    )
    demo_parser.set_defaults(run=demo.run_demo)

    emulate = commands.add_parser(
        "emulate", parents=[common], help="serve the loopback emulator of the providers"
    )
    emulator_cli.add_arguments(emulate)
    emulate.set_defaults(run=emulator_cli.run)
    return parser


def _connection_arguments() -> argparse.ArgumentParser:
    """The options that say which provider or server to talk to, and how."""
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument(
        "-p", "--provider", help="provider name, e.g. Koala or Ollama (default: the first working)"
    )
    connection.add_argument(
        "--base-url",
        metavar="URL",
        help="alone: an OpenAI-compatible server (http://localhost:11434/v1; a URL without"
        " a path gets /v1); with --provider: talk to that host instead (a mirror, the"
        " emulator), the provider's paths kept, and it counts as working. Without either"
        " option: $OPENAI_BASE_URL, when set",
    )
    connection.add_argument(
        "--api-key",
        metavar="KEY",
        help="the OpenAI-compatible server's key (default: $OPENAI_API_KEY with --base-url"
        " alone or $OPENAI_BASE_URL; a preset such as OpenRouter reads its own variable)",
    )
    connection.add_argument("--proxy", help="http://user:pw@host:port or socks5://host:port")
    connect, read = DEFAULT_TIMEOUT
    connection.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="seconds allowed to connect, and of silence between two bytes of the answer"
        f" (default: {connect:g} to connect, {read:g} of silence)",
    )
    return connection
