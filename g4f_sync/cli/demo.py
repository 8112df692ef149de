"""``g4f-sync demo``: the offline demo, on the embedded emulator."""

from __future__ import annotations

import argparse
import time

from .reporting import EXIT_PROVIDER_ERROR

__all__ = ["DEMO_BATCH", "DEMO_DELAY", "DEMO_PROMPT", "DEMO_TOOL", "DEMO_TOOL_CALL", "run_demo"]

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


def run_demo(args: argparse.Namespace) -> int:
    """Offline: start the emulator, stream one Koala, one ChatGptt and one OpenAI-compatible
    answer through the Client, ask for a tool call, then run eight prompts at once with
    ``run_batch`` (progress on stderr)."""
    from functools import partial

    from .. import Client
    from ..emulator import Emulator
    from ..Provider import ChatGptt, Custom, Koala
    from ..threaded import run_batch

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
