"""The g4f-sync command line, run as a real subprocess against an in-test emulator."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from typing import List

import pytest
from support import ROOT, MakeEmulator, provider_names

from g4f_sync.cli import main
from g4f_sync.emulator import Emulator, KoalaOptions
from g4f_sync.Provider import ChatGptt, Koala

ENV = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="")
TIMEOUT = 20.0
# `python -m g4f_sync`, with Ctrl-C restored: a child inherits an ignored SIGINT (a shell's
# background job), and Python then keeps ignoring it.
WITH_SIGINT = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler);"
    " runpy.run_module('g4f_sync', run_name='__main__', alter_sys=True)"
)


@pytest.fixture
def emu(make_emulator: MakeEmulator) -> Emulator:
    """Koala answers "Hello, world!" in four tokens."""
    return make_emulator(koala=KoalaOptions(tokens=["Hello", ", ", "world", "!"]))


def g4f_sync(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "g4f_sync", *args],
        cwd=ROOT,
        env=ENV,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WITH_SIGINT, *args],
        cwd=ROOT,
        env=ENV,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def read_until(proc: subprocess.Popen, text: bytes, seen: bytearray) -> None:
    """Read the child's stdout into ``seen`` until it holds ``text``."""
    fd = proc.stdout.fileno()  # type: ignore[union-attr]
    while text not in seen:
        ready, _, _ = select.select([fd], [], [], TIMEOUT)
        assert ready, f"no output within {TIMEOUT} s; so far {bytes(seen)!r}"
        data = os.read(fd, 4096)
        assert data, f"stdout closed; so far {bytes(seen)!r}"
        seen += data


def test_chat_streams_the_answer(emu: Emulator) -> None:
    done = g4f_sync("chat", "--base-url", emu.url, "--provider", "koala", "Say hi")
    assert (done.returncode, done.stdout, done.stderr) == (0, "Hello, world!\n", "")
    sent = json.loads(emu.requests[0].body)
    assert (sent["input"], sent["model"]) == ("Say hi", "gpt-4o-mini")


def test_each_token_reaches_stdout_before_the_next_is_sent(emu: Emulator) -> None:
    emu.koala.gated = True
    proc = start("chat", "--base-url", emu.url, "--provider", "koala", "Say hi")
    try:
        seen = bytearray()
        for expected in (b"Hello", b"Hello, ", b"Hello, world"):
            emu.gate.release()  # the emulator sends one token, then waits for the gate
            read_until(proc, expected, seen)
            assert bytes(seen) == expected  # shown, and nothing more while it waits
        # The last token: the stream ends right after it (no gate), and the CLI ends the
        # answer's line, so the newline may already be there when "!" is read.
        emu.gate.release()
        read_until(proc, b"\n", seen)
        assert bytes(seen) == b"Hello, world!\n"
        assert proc.wait(TIMEOUT) == 0
    finally:
        proc.kill()
        proc.communicate()


def test_ctrl_c_mid_stream_closes_the_connection_and_exits_130(emu: Emulator) -> None:
    emu.koala.gated = True
    proc = start("chat", "--base-url", emu.url, "--provider", "koala", "Say hi")
    try:
        emu.gate.release()
        read_until(proc, b"Hello", bytearray())
        proc.send_signal(signal.SIGINT)  # while the child waits for the next token
        assert proc.wait(TIMEOUT) == 130
        assert emu.requests[0].disconnected.wait(TIMEOUT)
        _, stderr = proc.communicate()
        assert stderr == b""  # no traceback, nothing noisy
    finally:
        proc.kill()
        proc.communicate()


def test_provider_error_is_one_line_on_stderr_and_exit_1(emu: Emulator) -> None:
    emu.koala.fault = "cloudflare"
    done = g4f_sync("chat", "--base-url", emu.url, "--provider", "koala", "Say hi")
    assert (done.returncode, done.stdout, done.stderr.count("\n")) == (1, "", 1)
    assert done.stderr.startswith(
        f"g4f-sync: CloudflareError: Koala: POST {emu.url}/api/gpt/ answered with a Cloudflare"
        " challenge (HTTP 403)"
    )


def test_debug_adds_the_traceback(emu: Emulator) -> None:
    emu.koala.fault = "cloudflare"
    done = g4f_sync("--debug", "chat", "--base-url", emu.url, "--provider", "koala", "Say hi")
    assert done.returncode == 1
    assert done.stderr.startswith("Traceback (most recent call last):")
    assert "g4f_sync.errors.CloudflareError: Koala: POST" in done.stderr
    assert done.stderr.splitlines()[-1].startswith("g4f-sync: CloudflareError: Koala: POST")
    after_command = g4f_sync(
        "chat", "--debug", "--base-url", emu.url, "--provider", "koala", "Say hi"
    )
    assert after_command.stderr.startswith("Traceback (most recent call last):")


def test_partial_answer_is_printed_before_the_error(emu: Emulator) -> None:
    emu.koala.fault, emu.koala.drop_after = "drop", 2
    done = g4f_sync("chat", "--base-url", emu.url, "--provider", "koala", "Say hi")
    assert (done.returncode, done.stdout) == (1, "Hello, \n")
    assert done.stderr.startswith("g4f-sync: StreamInterruptedError: Koala: the connection was")
    assert done.stderr.count("\n") == 1


def test_a_seed_provider_is_not_working(emu: Emulator) -> None:
    done = g4f_sync("chat", "--provider", "ChatGptt", "Say hi")
    assert (done.returncode, done.stdout, done.stderr.count("\n")) == (1, "", 1)
    assert done.stderr.startswith(
        "g4f-sync: ProviderNotWorkingError: ChatGptt is marked as not working (working = False)"
    )
    assert done.stderr.endswith(
        " from g4f_sync.emulator (on the command line: --provider NAME --ignore-working, or"
        " --base-url URL)\n"
    )


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (
            ["chat", "--provider", "Nope", "hi"],
            "g4f-sync: ProviderNotFoundError: no provider named 'Nope'; known: ",
        ),
        (
            ["chat", "--provider", "Koala", "--base-url", "ftp://host", "hi"],
            "g4f-sync: InvalidRequestError: base URL 'ftp://host' must be http(s)://",
        ),
        (
            ["chat", "--provider", "Koala", "--model", "gpt-5", "--base-url", "http://h", "hi"],
            "g4f-sync: ModelNotSupportedError: Koala does not support model 'gpt-5'",
        ),
    ],
)
def test_usage_errors_are_one_line_on_stderr_and_exit_2(
    args: List[str], start: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2  # in-process: these fail before any request
    out, err = capsys.readouterr()
    assert (out, err.count("\n")) == ("", 1)
    assert err.startswith(start)


def test_bad_option_exits_2_with_argparse_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["chat", "--bogus"])
    assert info.value.code == 2
    assert capsys.readouterr().err.endswith("g4f-sync: error: unrecognized arguments: --bogus\n")


def test_json_and_no_stream(emu: Emulator) -> None:
    done = g4f_sync("chat", "--base-url", emu.url, "--provider", "koala", "--json", "Say hi")
    chunks = [json.loads(line) for line in done.stdout.splitlines()]
    assert [c["choices"][0]["delta"]["content"] for c in chunks] == [
        *["Hello", ", ", "world", "!"],
        None,
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    whole = g4f_sync(
        "chat", "--base-url", emu.url, "--provider", "koala", "--no-stream", "--json", "Say hi"
    )
    answer = json.loads(whole.stdout)
    assert (answer["object"], answer["choices"][0]["message"]["content"]) == (
        "chat.completion",
        "Hello, world!",
    )
    plain = g4f_sync("chat", "--base-url", emu.url, "--provider", "koala", "--no-stream", "Say hi")
    assert (plain.returncode, plain.stdout) == (0, "Hello, world!\n")


def test_conversation_from_stdin_keeps_history(emu: Emulator) -> None:
    emu.koala.tokens = None  # echo the input
    done = g4f_sync(
        "chat",
        "--base-url",
        emu.url,
        "--provider",
        "koala",
        "--system",
        "Be brief.",
        stdin="first question\n\nsecond\n",
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "first question Be brief.\nsecond Be brief.\n"
    second = json.loads(emu.requests[1].body)
    assert second["inputHistory"] == ["first question"]
    assert second["outputHistory"] == ["first question Be brief."]


def test_conversation_goes_on_after_an_error_and_exits_1(emu: Emulator) -> None:
    emu.koala.fault, emu.koala.fault_count = "cloudflare", 1
    done = g4f_sync("chat", "--base-url", emu.url, "--provider", "koala", stdin="one\ntwo\n")
    assert done.returncode == 1
    assert done.stderr.startswith("g4f-sync: CloudflareError: ") and done.stderr.count("\n") == 1
    assert done.stdout == "Hello, world!\n"
    assert json.loads(emu.requests[1].body)["inputHistory"] == []  # the failed turn was dropped


def test_providers_prints_an_aligned_table_of_what_each_provider_supports(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("g4f_sync.Provider.__providers__", [Koala, ChatGptt])
    assert main(["providers"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "name      working  stream  system  history  default model  models",
        "Koala     no       yes     no      yes      gpt-4o-mini    gpt-4o-mini",
        "ChatGptt  no       yes     yes     yes      gpt-4o         gpt-4, gpt-4o, gpt-4o-mini",
    ]


def test_providers_lists_every_registered_provider_in_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["providers"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [row.split()[0] for row in rows] == provider_names()


def test_demo_runs_offline_and_exits_0() -> None:
    done = g4f_sync("demo")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    answer = "Hello from g4f_sync: this answer streams token by token, with no asyncio anywhere."
    assert f"Koala, streamed through g4f_sync.Client:\n{answer}\n" in out
    assert f"ChatGptt, streamed through g4f_sync.Client:\n{answer}\n" in out
    openai = "an OpenAI-compatible server (Custom, /v1/chat/completions)"
    assert f"{openai}, streamed through g4f_sync.Client:\n{answer}\n" in out
    assert (
        'A tool call from the same server: get_weather({"city": "Paris"}),'
        " finish_reason='tool_calls'\n"
    ) in out
    assert "8 prompts at once through g4f_sync.run_batch:" in out
    results = [line for line in out.splitlines() if line[:2] in {f"{i}." for i in range(1, 9)}]
    assert len(results) == 8
    assert results[0] == "1. [Koala] One question of eight, all sent at once"
    assert results[1] == "2. [ChatGptt] Two: every answer comes from a worker thread"
    assert results[2] == "3. [Custom] Three: results arrive in input order"
    # stderr is a pipe, not a terminal: run_batch's progress writes only its final line,
    # whether tqdm is installed or not
    assert done.stderr == "8/8 done, 0 failed\n"
