"""The g4f-sync command line, run as a real subprocess against an in-test emulator."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
from typing import Any, Dict, Iterator, List, Optional

import pytest
from support import ROOT, MakeEmulator, provider_names

from g4f_sync import Client
from g4f_sync.cli import main
from g4f_sync.cli.answer import CtrlC
from g4f_sync.cli.session import Target, check_target
from g4f_sync.emulator import Emulator, KoalaOptions, OpenAIOptions
from g4f_sync.http import DEFAULT_TIMEOUT
from g4f_sync.Provider import ChatGptt, Koala

ENV = {
    **{name: value for name, value in os.environ.items() if not name.startswith("OPENAI_")},
    "PYTHONPATH": str(ROOT),
    "PYTHONUNBUFFERED": "",
}
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


def g4f_sync(
    *args: str, stdin: str = "", env: Optional[Dict[str, str]] = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "g4f_sync", *args],
        cwd=ROOT,
        env={**ENV, **(env or {})},
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


def test_a_reader_that_leaves_ends_the_answer_quietly_and_closes_the_connection(
    emu: Emulator,
) -> None:
    emu.koala = KoalaOptions(tokens=["Hello", *[" more"] * 8], gated=True)
    proc = start("chat", "--base-url", emu.url, "--provider", "koala", "Say hi")
    try:
        emu.gate.release()
        read_until(proc, b"Hello", bytearray())
        proc.stdout.close()  # type: ignore[union-attr]  # as `| head -c5` does
        emu.gate.release()  # the next token's write finds no reader; 7 are still to come
        assert proc.wait(TIMEOUT) == 141
        assert emu.requests[0].disconnected.wait(TIMEOUT)
        assert proc.stderr.read() == b""  # type: ignore[union-attr]  # no traceback
    finally:
        proc.kill()
        proc.wait()


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
        (
            ["chat", "-p", "Koala", "--base-url", "http://h", "--api-key", "sk-1", "hi"],
            "g4f-sync: InvalidRequestError: Koala takes no api_key: it is not an"
            " OpenAI-compatible server",
        ),
        (
            ["chat", "--base-url", "http://h", "--timeout", "0", "hi"],
            "g4f-sync: InvalidRequestError: timeout must be a positive number of seconds",
        ),
        (
            ["models", "-p", "OpenRouter"],
            "g4f-sync: MissingAuthError: OpenRouter needs an API key: set OPENROUTER_API_KEY or"
            " pass api_key=... (on the command line: --api-key KEY)",
        ),
        (
            ["models", "-p", "Nope"],
            "g4f-sync: ProviderNotFoundError: no provider named 'Nope'; known: ",
        ),
    ],
)
def test_usage_errors_are_one_line_on_stderr_and_exit_2(
    args: List[str], start: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
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


def sent(emu: Emulator, index: int = 0) -> Dict[str, Any]:
    """The JSON body of the emulator's ``index``-th request."""
    return json.loads(emu.requests[index].body)  # type: ignore[no-any-return]


# One prompt: PROMPT, piped stdin, or both. (Before, stdin without PROMPT was a
# conversation, one message a line; now piped stdin is one prompt, as llm reads it, and
# the conversation is the interactive chat on a terminal: tests/test_cli_terminal.py.)


def test_piped_stdin_is_one_prompt_and_no_banner_is_shown(emu: Emulator) -> None:
    done = g4f_sync(
        "chat", "--base-url", emu.url, "-p", "koala", "-s", "Be brief.", stdin="first\n\nsecond\n"
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "Hello, world!\n", "")
    assert emu.request_count == 1
    assert sent(emu)["input"] == "first\n\nsecond\n Be brief."  # Koala adds the system message


def test_piped_stdin_comes_before_the_prompt_joined_by_a_space(emu: Emulator) -> None:
    done = g4f_sync("chat", "--base-url", emu.url, "-p", "koala", "explain", stdin="x = 1\n")
    assert (done.returncode, done.stdout) == (0, "Hello, world!\n")
    assert sent(emu)["input"] == "x = 1\n explain"


def test_dash_reads_the_prompt_from_stdin(emu: Emulator) -> None:
    done = g4f_sync("chat", "--base-url", emu.url, "-p", "koala", "-", stdin="from stdin")
    assert (done.returncode, done.stdout) == (0, "Hello, world!\n")
    assert sent(emu)["input"] == "from stdin"


@pytest.mark.parametrize(("prompt", "stdin"), [([], ""), (["-"], ""), (["  "], ""), ([], " \n")])
def test_an_empty_prompt_is_a_usage_error_and_nothing_is_sent(
    emu: Emulator, prompt: List[str], stdin: str
) -> None:
    done = g4f_sync("chat", "--base-url", emu.url, "-p", "koala", *prompt, stdin=stdin)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "g4f-sync: InvalidRequestError: the prompt is empty: give PROMPT, pipe the prompt to"
        " stdin, or run on a terminal to chat\n"
    )
    assert emu.request_count == 0


def test_short_options_name_the_model_and_the_system_message(emu: Emulator) -> None:
    done = g4f_sync(
        "chat", "-p", "koala", "--base-url", emu.url, "-m", "gpt-4o-mini", "-s", "Brief.", "Hi"
    )
    assert done.returncode == 0, done.stderr
    assert (sent(emu)["model"], sent(emu)["input"]) == ("gpt-4o-mini", "Hi Brief.")


# Where the key and the server come from


@pytest.fixture
def keyed(make_emulator: MakeEmulator) -> Emulator:
    """An OpenAI-compatible server that wants the key ``sk-test-key``."""
    return make_emulator(openai=OpenAIOptions(tokens=["Hi", "!"], api_key="sk-test-key"))


def test_openai_base_url_and_key_come_from_the_environment(keyed: Emulator) -> None:
    env = {"OPENAI_BASE_URL": keyed.url + "/v1", "OPENAI_API_KEY": "sk-test-key"}
    done = g4f_sync("chat", "Say hi", env=env)
    assert (done.returncode, done.stdout, done.stderr) == (0, "Hi!\n", "")
    assert keyed.requests[-1].headers["Authorization"] == "Bearer sk-test-key"


def test_base_url_alone_takes_the_key_from_the_environment(keyed: Emulator) -> None:
    env = {"OPENAI_API_KEY": "sk-test-key"}
    done = g4f_sync("chat", "--base-url", keyed.url + "/v1", "Say hi", env=env)
    assert (done.returncode, done.stdout) == (0, "Hi!\n")
    flag = g4f_sync("chat", "--base-url", keyed.url + "/v1", "--api-key", "sk-test-key", "Hi")
    assert (flag.returncode, flag.stdout) == (0, "Hi!\n")


def test_a_text_provider_pointed_elsewhere_gets_no_key_from_the_environment(
    emu: Emulator,
) -> None:
    env = {"OPENAI_API_KEY": "sk-not-for-koala"}
    done = g4f_sync("chat", "-p", "koala", "--base-url", emu.url, "Say hi", env=env)
    assert (done.returncode, done.stdout, done.stderr) == (0, "Hello, world!\n", "")
    assert "Authorization" not in emu.requests[0].headers


def test_a_wrong_key_is_one_line_without_the_key(keyed: Emulator) -> None:
    done = g4f_sync("chat", "--base-url", keyed.url + "/v1", "--api-key", "sk-wrong-9876", "Hi")
    assert (done.returncode, done.stdout, done.stderr.count("\n")) == (1, "", 1)
    assert done.stderr.startswith("g4f-sync: AuthenticationError: Custom: HTTP 401")
    assert "wrong" not in done.stderr


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


def test_providers_json_lists_every_provider_with_what_it_supports(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["providers", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert [fact["name"] for fact in facts] == provider_names()
    assert facts[0] == {
        "name": "Koala",
        "working": False,
        "supports_stream": True,
        "supports_system_message": False,
        "supports_message_history": True,
        "default_model": "gpt-4o-mini",
        "models": ["gpt-4o-mini"],
        "url": "https://koala.sh/chat",
    }
    ollama = next(fact for fact in facts if fact["name"] == "Ollama")
    assert (ollama["default_model"], ollama["models"], ollama["url"]) == (
        None,
        [],
        "http://localhost:11434/v1",
    )


# models


def test_models_lists_a_servers_models_one_a_line(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(openai=OpenAIOptions(models=["llama3.2", "qwen2.5"]))
    done = g4f_sync("models", "--base-url", emu.url + "/v1")
    assert (done.returncode, done.stdout, done.stderr) == (0, "llama3.2\nqwen2.5\n", "")
    as_json = g4f_sync("models", "--base-url", emu.url, "--json")  # a URL without a path: /v1
    listed = json.loads(as_json.stdout)
    assert listed["object"] == "list"
    assert [model["id"] for model in listed["data"]] == ["llama3.2", "qwen2.5"]
    assert [(r.method, r.path) for r in emu.requests] == [("GET", "/v1/models")] * 2


def test_models_takes_the_key_and_hides_a_wrong_one(keyed: Emulator) -> None:
    done = g4f_sync("models", "--base-url", keyed.url + "/v1", "--api-key", "sk-test-key")
    assert (done.returncode, done.stdout) == (0, "emulated-gpt\nemulated-mini\n")
    wrong = g4f_sync("models", "--base-url", keyed.url + "/v1", "--api-key", "sk-bad-5555")
    assert (wrong.returncode, wrong.stdout, wrong.stderr.count("\n")) == (1, "", 1)
    assert wrong.stderr.startswith("g4f-sync: AuthenticationError: Custom: HTTP 401")
    assert "bad" not in wrong.stderr


def test_models_of_a_text_provider_are_its_fixed_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "-p", "ChatGptt"]) == 0  # no request: the list is the class's
    assert capsys.readouterr().out == "gpt-4\ngpt-4o\ngpt-4o-mini\n"


def test_models_without_a_server_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert main(["models"]) == 2
    assert capsys.readouterr().err == (
        "g4f-sync: ProviderNotFoundError: models: which server? give --base-url URL (or set"
        " OPENAI_BASE_URL), or --provider NAME\n"
    )


@pytest.mark.parametrize("command", ["chat", "models"])
def test_timeout_help_states_the_defaults(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    connect, read = DEFAULT_TIMEOUT
    assert f"(default: {connect:g} to connect, {read:g} of silence)" in text
    assert "(default: 10 to connect, 120 of silence)" in text  # as the README says


# emulate


@pytest.mark.parametrize(
    ("port", "why"),
    [
        ("99999", "must be 0 to 65535 (0: a free one), got 99999"),
        ("http", "not a port number: 'http'"),
    ],
)
def test_emulate_bad_port_is_a_short_usage_error(
    port: str, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["emulate", "--port", port])
    assert info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "usage: g4f-sync emulate [-h] [--host HOST] [--port PORT] [--verbose]"
        " [--SERVICE-OPTION VALUE ...]",
        f"g4f-sync emulate: error: argument --port: {why}",
    ]


def test_emulate_exits_130_on_ctrl_c_and_writes_no_line_to_a_pipe() -> None:
    proc = start("emulate", "--port", "0")
    try:
        read_until(proc, b"Ctrl-C stops\n", bytearray())
        proc.send_signal(signal.SIGINT)
        assert proc.wait(TIMEOUT) == 130
        stdout, stderr = proc.communicate()
        assert (stdout, stderr) == (b"", b"")  # the fresh line is for a terminal only
    finally:
        proc.kill()
        proc.communicate()


# Ctrl-C during an answer, in-process with real signals


class RecordingStream:
    """Stands for a stream: records the threads its interrupt() was called from."""

    def __init__(self) -> None:
        self.interrupted_from: List[str] = []
        self.done = threading.Event()

    def interrupt(self) -> bool:
        self.interrupted_from.append(threading.current_thread().name)
        self.done.set()
        return True


@pytest.fixture
def ctrl_c_reaches_python() -> Iterator[None]:
    """SIGINT handled as Python handles it by default, even when this test run inherited it
    ignored (a background job of a shell: ``pytest &``, ``nohup``), where ``CtrlC`` rightly
    leaves it alone; the disposition found is restored after the test."""
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, inherited)


@pytest.mark.usefixtures("ctrl_c_reaches_python")
def test_ctrl_c_interrupts_the_watched_stream_from_a_thread_then_a_second_one_raises() -> None:
    stream = RecordingStream()
    before = signal.getsignal(signal.SIGINT)
    with CtrlC() as ctrl_c:
        ctrl_c.watch(stream)
        signal.raise_signal(signal.SIGINT)  # the handler runs when raise_signal returns
        assert ctrl_c.pressed and stream.done.wait(TIMEOUT)
        assert stream.interrupted_from == ["g4f-sync: Ctrl-C interrupt"]  # not the main thread
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before  # restored


@pytest.mark.usefixtures("ctrl_c_reaches_python")
def test_ctrl_c_before_the_stream_exists_interrupts_it_when_watched() -> None:
    stream = RecordingStream()
    with CtrlC() as ctrl_c:
        signal.raise_signal(signal.SIGINT)
        assert ctrl_c.pressed and stream.interrupted_from == []
        ctrl_c.watch(stream)
        assert stream.done.wait(TIMEOUT)


def test_an_ignored_ctrl_c_stays_ignored() -> None:
    inherited = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as under `nohup cmd &`
    try:
        with CtrlC() as ctrl_c:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            ctrl_c.watch(RecordingStream())
            signal.raise_signal(signal.SIGINT)
            assert not ctrl_c.pressed
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, inherited)


def test_readline_is_imported_only_by_the_interactive_chat(emu: Emulator) -> None:
    code = (
        "import sys; from g4f_sync.cli import main;"
        f" main(['chat', '-p', 'koala', '--base-url', {emu.url!r}, 'hi']);"
        " print('readline' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=ENV,
        input="",
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "Hello, world!\nFalse\n", "")


def test_a_provider_without_a_page_is_checked_without_a_request() -> None:
    """The interactive chat's first check: a provider of your own with no ``url`` has no
    page to fetch, so nothing is asked; the banner then names no address."""

    class OwnProvider:
        working = True

        @classmethod
        def create_completion(cls, model: str, messages: Any, stream: bool = True) -> Any:
            raise AssertionError("the check must not ask for a completion")

    target = check_target(Client(OwnProvider), OwnProvider, "")
    assert target == Target(OwnProvider, "", "")
