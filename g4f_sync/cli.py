"""The ``g4f-sync`` command line: chat with a provider, list providers, serve the emulator,
or run the offline demo.

Exit codes: 0 done; 1 a provider error (one line on stderr, the traceback with
``--debug``); 2 a usage error (a bad option, an unknown provider or model); 130 Ctrl-C,
after the connection was closed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from typing import Any, List, Optional

from . import __version__, errors

DEMO_PROMPT = "Hello from g4f_sync: this answer streams token by token, with no asyncio anywhere."
DEMO_DELAY = 0.02
"""Seconds between two tokens of the demo's emulated answers."""
DEMO_BATCH = [
    "One question of eight, all sent at once",
    "Two: every answer comes from a worker thread",
    "Three: results arrive in input order",
    "Four: a failure would be a result too",
    "Five: no event loop is involved",
    "Six: each call is a blocking function",
    "Seven: the pool runs at most eight at once",
    "Eight: and that is the whole batch",
]
DEMO_TOOL_CALL = 'get_weather:{"city": "Paris"}'
"""The emulator's answer to the demo's tool question, in its query form."""
DEMO_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
EXIT_PROVIDER_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
USAGE_ERRORS = (errors.InvalidRequestError, errors.ProviderNotFoundError)
"""Errors about what was typed, raised before any request: exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    from .emulator import cli as emulator_cli

    parser = argparse.ArgumentParser(
        prog="g4f-sync",
        description="Chat with gpt4free-style providers, synchronously (no asyncio).",
        epilog="Exit codes: 0 ok, 1 provider error, 2 usage error, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an error")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    chat = commands.add_parser(
        "chat",
        parents=[common],
        help="ask a question (or, without PROMPT, hold a conversation)",
        description="Stream the answer to PROMPT to stdout as it arrives. Without PROMPT,"
        " read one message per line from stdin and keep the conversation's history"
        " (Ctrl-D ends it).",
    )
    chat.add_argument("prompt", nargs="?", metavar="PROMPT")
    chat.add_argument("--provider", help="provider name, e.g. Koala (default: the first working)")
    chat.add_argument("--model", default="", help="model (default: the provider's)")
    chat.add_argument("--system", help="a system message sent first")
    chat.add_argument("--proxy", help="http://user:pw@host:port or socks5://host:port")
    chat.add_argument("--timeout", type=float, help="seconds to connect, and of silence allowed")
    chat.add_argument(
        "--base-url",
        metavar="URL",
        help="alone: an OpenAI-compatible server (http://localhost:11434/v1; a URL without"
        " a path gets /v1); with --provider: talk to that host instead (a mirror, the"
        " emulator), the provider's paths kept, and it counts as working",
    )
    chat.add_argument(
        "--api-key",
        metavar="KEY",
        help="the OpenAI-compatible server's key (default with --base-url: $OPENAI_API_KEY)",
    )
    chat.add_argument(
        "--ignore-working", action="store_true", help="call a provider marked as not working"
    )
    chat.add_argument("--no-stream", action="store_true", help="print the answer once complete")
    chat.add_argument("--json", action="store_true", help="print chunks (or the answer) as JSON")
    chat.set_defaults(run=run_chat)

    providers = commands.add_parser("providers", parents=[common], help="list the providers")
    providers.set_defaults(run=run_providers)

    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="offline: stream answers from the embedded emulator, then a concurrent batch",
    )
    demo.set_defaults(run=run_demo)

    emulate = commands.add_parser(
        "emulate", parents=[common], help="serve the loopback emulator of the providers"
    )
    emulator_cli.add_arguments(emulate)
    emulate.set_defaults(run=emulator_cli.run)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit code (argparse exits 2 on a bad option)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED  # the `with` blocks on the way out closed the connection
    except USAGE_ERRORS as error:
        report(error, args.debug)
        return EXIT_USAGE
    except errors.G4FError as error:
        report(error, args.debug)
        return EXIT_PROVIDER_ERROR


def report(error: BaseException, debug: bool = False) -> None:
    """One line on stderr (after the traceback with ``debug``)."""
    if debug:
        traceback.print_exception(type(error), error, error.__traceback__)
    message = " ".join(str(error).split())
    if _not_working(error):
        message += " (on the command line: --provider NAME --ignore-working, or --base-url URL)"
    print(f"g4f-sync: {type(error).__name__}: {message}", file=sys.stderr, flush=True)


def _not_working(error: BaseException) -> bool:
    """Whether the error comes of a provider marked as not working: the CLI says how to
    call it anyway."""
    if isinstance(error, errors.ProviderNotWorkingError):
        return error.marked
    return isinstance(error, errors.ProviderNotFoundError) and any(
        why == "not working" for _, why in error.considered
    )


# chat


def run_chat(args: argparse.Namespace) -> int:
    """``g4f-sync chat``: one answer for PROMPT, or a conversation read from stdin."""
    from . import Client

    api_key = args.api_key or (os.environ.get("OPENAI_API_KEY") if args.base_url else None)
    client = Client(
        args.provider,
        base_url=args.base_url,
        api_key=api_key,
        proxy=args.proxy,
        timeout=args.timeout,
    )
    messages = [{"role": "system", "content": args.system}] if args.system else []
    if args.prompt is not None:
        messages.append({"role": "user", "content": args.prompt})
        ask(client, messages, args)
        return 0
    return converse(client, messages, args)


def converse(client: Any, messages: List[Any], args: argparse.Namespace) -> int:
    """Read one message per line until EOF; keep the history. A provider error is
    reported and the turn dropped; the exit code is then 1."""
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    failed = False
    while True:
        if interactive:
            try:
                line = input("> ")
            except EOFError:
                print()
                return EXIT_PROVIDER_ERROR if failed else 0
        else:
            line = sys.stdin.readline()
            if not line:
                return EXIT_PROVIDER_ERROR if failed else 0
        if not line.strip():
            continue
        messages.append({"role": "user", "content": line.rstrip("\r\n")})
        try:
            answer = ask(client, messages, args)
        except USAGE_ERRORS:
            raise
        except errors.G4FError as error:
            report(error, args.debug)
            messages.pop()
            failed = True
            continue
        messages.append({"role": "assistant", "content": answer})


def ask(client: Any, messages: List[Any], args: argparse.Namespace) -> str:
    """Print one answer (streamed unless ``--no-stream``) and return its text."""
    create = client.chat.completions.create
    options = {"ignore_working": args.ignore_working}
    if args.no_stream:
        response = create(messages, args.model, **options)
        text: str = response.choices[0].message.content
        print(response.to_json() if args.json else text, flush=True)
        return text
    parts: List[str] = []
    with create(messages, args.model, stream=True, **options) as chunks:
        try:
            for chunk in chunks:
                content = chunk.choices[0].delta.content
                if args.json:
                    print(chunk.to_json(), flush=True)
                elif content:
                    print(content, end="", flush=True)
                if content:
                    parts.append(content)
        finally:
            if parts and not args.json:
                print(flush=True)  # end the answer's line, also after an error or Ctrl-C
    return "".join(parts)


# providers


def run_providers(args: argparse.Namespace) -> int:
    """``g4f-sync providers``: a table of the providers and what they support."""
    from .Provider import __providers__

    def yes(value: object) -> str:
        return "yes" if value else "no"

    rows = [["name", "working", "stream", "system", "history", "default model", "models"]]
    for provider in __providers__:
        models = getattr(provider, "get_models", lambda: [])()
        rows.append(
            [
                provider.__name__,
                yes(provider.working),
                yes(provider.supports_stream),
                yes(provider.supports_system_message),
                yes(provider.supports_message_history),
                getattr(provider, "default_model", "") or "-",
                ", ".join(models) or "-",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        print("  ".join([*cells, row[-1]]))
    return 0


# demo


def run_demo(args: argparse.Namespace) -> int:
    """Offline: start the emulator, stream one Koala, one ChatGptt and one OpenAI-compatible
    answer through the Client, ask for a tool call, then run eight prompts at once with
    ``run_batch`` (progress on stderr)."""
    from functools import partial

    from . import Client
    from .emulator import Emulator
    from .Provider import ChatGptt, Custom, Koala
    from .threaded import run_batch

    started = time.monotonic()
    client = Client()
    with Emulator() as emulator:
        koala = emulator.provider(Koala, delay=DEMO_DELAY)
        chatgptt = emulator.provider(ChatGptt, answer="sse", delay=DEMO_DELAY)
        custom = emulator.provider(Custom, delay=DEMO_DELAY)
        print(f"The providers' emulator runs at {emulator.url}: everything below is offline.\n")
        messages = [{"role": "user", "content": DEMO_PROMPT}]
        for provider, label in (
            (koala, "Koala"),
            (chatgptt, "ChatGptt"),
            (custom, "an OpenAI-compatible server (Custom, /v1/chat/completions)"),
        ):
            print(f"{label}, streamed through g4f_sync.Client:")
            with client.chat.completions.create(
                messages, "", provider=provider, stream=True
            ) as chunks:
                for chunk in chunks:
                    if chunk.choices:
                        print(chunk.choices[0].delta.content or "", end="", flush=True)
            print("\n")

        weather = emulator.provider(Custom, tool_calls=DEMO_TOOL_CALL)
        answer = client.chat.completions.create(
            [{"role": "user", "content": "What is the weather in Paris?"}],
            "",
            provider=weather,
            tools=[DEMO_TOOL],
        )
        call = answer.choices[0].message.tool_calls[0]  # type: ignore[index]
        print(
            f"A tool call from the same server: {call.function.name}({call.function.arguments}),"
            f" finish_reason={answer.choices[0].finish_reason!r}\n"
        )

        print(f"{len(DEMO_BATCH)} prompts at once through g4f_sync.run_batch:", flush=True)
        calls = [
            partial(
                client.chat.completions.create,
                [{"role": "user", "content": prompt}],
                "",
                provider=(koala, chatgptt, custom)[index % 3],
            )
            for index, prompt in enumerate(DEMO_BATCH)
        ]
        results = list(run_batch(calls, max_workers=len(calls), progress=True))
        failed = 0
        for result in results:  # printed once the progress line is complete
            if result.ok:
                answer = result.value
                print(
                    f"{result.index + 1}. [{answer.provider}] {answer.choices[0].message.content}"
                )
            else:
                failed += 1
                print(f"{result.index + 1}. failed: {type(result.error).__name__}: {result.error}")
    print(f"\nDone in {time.monotonic() - started:.1f} s.")
    return EXIT_PROVIDER_ERROR if failed else 0
