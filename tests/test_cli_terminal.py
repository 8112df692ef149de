"""The interactive chat (and ``emulate``) on a real terminal: a pseudo-terminal whose
line discipline turns Ctrl-C into SIGINT and passes readline the arrow keys, driving
``python -m g4f_sync`` against an in-test emulator.

Each test reads the screen up to what should come before typing; the emulator's request
log and the kernel's TCP table show what reached the server and what was closed.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any, Dict, Iterator, List

import pytest
from support import ROOT, MakeEmulator, port_of
from tcp_state import open_to
from terminal import CTRL_C, CTRL_D, LEFT, TIMEOUT, UP, Terminal

from g4f_sync.cli.session import BANNER_HINT
from g4f_sync.emulator import Emulator, KoalaOptions, OpenAIOptions

ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")},
    "PYTHONPATH": str(ROOT),
    "TERM": "dumb",  # readline then writes no escape sequences of its own
}
HI = ["Hello", ", ", "world", "!"]


@pytest.fixture
def chat(request: pytest.FixtureRequest) -> Iterator[Any]:
    """``chat(*args)`` starts ``g4f-sync chat ARGS`` on a terminal, closed after the test."""
    started: List[Terminal] = []

    def start(*args: str, env: Dict[str, str] = ENV) -> Terminal:
        terminal = Terminal("g4f_sync", ["chat", *args], cwd=ROOT, env=env)
        started.append(terminal)
        return terminal

    yield start
    for terminal in started:
        terminal.close()


def sent_messages(emu: Emulator, index: int) -> List[Dict[str, Any]]:
    """The messages of the emulator's ``index``-th request (an OpenAI chat request)."""
    return json.loads(emu.requests[index].body)["messages"]  # type: ignore[no-any-return]


def test_a_chat_session_on_a_terminal(make_emulator: MakeEmulator, chat: Any) -> None:
    """Banner after the check, line editing, Ctrl-C mid-answer (the connection closed, the
    partial answer kept), the up arrow's history, and exit."""
    # The first answer stops after two tokens and stays open, as a slow model would.
    emu = make_emulator(
        openai=OpenAIOptions(tokens=HI, fault="silent", drop_after=2, fault_count=1)
    )
    term = chat("--base-url", emu.url + "/v1")
    banner = term.expect("> ")
    assert banner == (
        f"Chatting with emulated-gpt on Custom at {emu.url}/v1\r\n{BANNER_HINT}\r\n> "
    )
    # The server was asked before the prompt came: a model list, no chat request.
    assert [(r.method, r.path) for r in emu.requests] == [("GET", "/v1/models")]

    term.type("Sayhi" + LEFT + LEFT + " \r")  # readline: the cursor moves, " " goes in
    term.expect("\r\nHello, ")
    term.wait_until_blocked()
    term.type(CTRL_C)  # the server is silent: the answer is still coming
    assert term.expect("> ").endswith("\r\n> ")  # the prompt, on a fresh line
    assert emu.requests[1].disconnected.wait(TIMEOUT)
    assert open_to(port_of(emu.url)) == 0  # closed before the prompt came back
    assert sent_messages(emu, 1) == [{"role": "user", "content": "Say hi"}]

    term.type(UP)  # the history recalls the question
    term.expect("Say hi")
    term.type("\r")
    assert term.expect("> ") == "\r\nHello, world!\r\n> "
    assert sent_messages(emu, 2) == [
        {"role": "user", "content": "Say hi"},
        {"role": "assistant", "content": "Hello, "},  # what came before Ctrl-C
        {"role": "user", "content": "Say hi"},
    ]
    term.type("exit\r")
    assert term.wait() == 0
    assert term.rest() == "exit\r\n"
    assert "Traceback" not in term.screen


def test_ctrl_c_stops_a_koala_answer_then_leaves_at_the_prompt(
    make_emulator: MakeEmulator, chat: Any
) -> None:
    """A gated answer: the emulator sends a token only when the test releases one, so
    Ctrl-C lands while the server waits. A second Ctrl-C, at the prompt, leaves: 130."""
    emu = make_emulator(koala=KoalaOptions(tokens=HI, gated=True))
    term = chat("--provider", "koala", "--base-url", emu.url, "-s", "Be brief.")
    assert term.expect("> ").startswith(f"Chatting with gpt-4o-mini on Koala at {emu.url}\r\n")
    assert [(r.method, r.path) for r in emu.requests] == [("GET", "/chat")]
    term.type("Say hi\r")
    for _ in range(2):
        emu.gate.release()
    term.expect("Hello, ")
    term.wait_until_blocked()
    term.type(CTRL_C)
    assert term.expect("> ") == "^C\r\n> "
    assert emu.requests[1].disconnected.wait(TIMEOUT)

    emu.koala.gated = False
    term.type("And again?\r")
    term.expect("Hello, world!\r\n> ")
    again = json.loads(emu.requests[2].body)
    assert (again["input"], again["inputHistory"], again["outputHistory"]) == (
        "And again? Be brief.",  # Koala sends the system message with the question
        ["Say hi"],
        ["Hello, "],  # the partial answer is the assistant's turn
    )
    term.wait_until_blocked()
    term.type(CTRL_C)
    assert term.wait() == 130
    assert term.rest() == "\r\n"  # the shell's prompt will start a line of its own
    assert "Traceback" not in term.screen and "KeyboardInterrupt" not in term.screen


@pytest.mark.parametrize(("keys", "echo"), [(CTRL_D, ""), ("quit\r", "quit"), ("exit\r", "exit")])
def test_exit_quit_and_ctrl_d_leave_with_0_on_a_fresh_line(
    make_emulator: MakeEmulator, chat: Any, keys: str, echo: str
) -> None:
    emu = make_emulator()
    term = chat("--base-url", emu.url)
    term.expect("> ")
    term.type(keys)
    assert term.wait() == 0
    assert term.rest() == f"{echo}\r\n"
    assert [r.method for r in emu.requests] == ["GET"]  # no chat request


def test_a_server_that_refuses_the_key_fails_before_the_prompt(
    make_emulator: MakeEmulator, chat: Any
) -> None:
    """The check is a model list: a wrong key fails at once, with its typed error and
    without the key, before the user could type anything."""
    emu = make_emulator(openai=OpenAIOptions(api_key="sk-the-right-one"))
    term = chat("--base-url", emu.url + "/v1", "--api-key", "sk-wrong-secret-1234")
    assert term.wait() == 1
    assert term.screen.startswith(
        f"g4f-sync: AuthenticationError: Custom: HTTP 401 Unauthorized from GET {emu.url}/v1/models"
    )
    assert term.screen.count("\n") == 1 and "> " not in term.screen
    assert "wrong-secret" not in term.screen
    assert [(r.method, r.path) for r in emu.requests] == [("GET", "/v1/models")]

    right = chat("--base-url", emu.url + "/v1", "--api-key", "sk-the-right-one")
    right.expect("Chatting with emulated-gpt on Custom")
    right.expect("> ")


def test_a_host_nobody_serves_fails_before_the_prompt(chat: Any) -> None:
    with socket.socket() as bound:  # bound, never listening: connecting is refused
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        term = chat("--provider", "koala", "--base-url", f"http://127.0.0.1:{port}")
        assert term.wait() == 1
    assert term.screen == (
        f"g4f-sync: ConnectionError: Koala: could not connect to 127.0.0.1:{port}:"
        " Connection refused (after 3 attempts)\r\n"
    )


def test_an_error_is_reported_and_the_chat_goes_on(make_emulator: MakeEmulator, chat: Any) -> None:
    emu = make_emulator(koala=KoalaOptions(tokens=HI, fault="cloudflare", fault_count=1))
    term = chat("--provider", "koala", "--base-url", emu.url)
    term.expect("> ")
    term.type("one\r")
    failure = term.expect("> ")
    assert failure.startswith("one\r\ng4f-sync: CloudflareError: Koala: POST")
    term.type("two\r")
    assert term.expect("> ") == "two\r\nHello, world!\r\n> "
    assert json.loads(emu.requests[2].body)["inputHistory"] == []  # the failed turn dropped
    term.type(CTRL_D)
    assert term.wait() == 0


def test_ctrl_c_during_a_whole_answer_closes_it_and_drops_the_turn(
    make_emulator: MakeEmulator, chat: Any
) -> None:
    """``--no-stream``: the server sends the head, then nothing."""
    emu = make_emulator(openai=OpenAIOptions(tokens=HI, fault="silent", fault_count=1))
    term = chat("--base-url", emu.url + "/v1", "--no-stream")
    term.expect("> ")
    term.type("Say hi\r")
    term.expect("Say hi\r\n")
    assert emu.wait_for_requests(2, TIMEOUT)  # the chat request reached the server
    term.wait_until_blocked()
    term.type(CTRL_C)
    assert term.expect("> ") == "^C\r\n> "
    assert emu.requests[1].disconnected.wait(TIMEOUT)
    term.type("Again\r")
    assert term.expect("> ") == "Again\r\nHello, world!\r\n> "
    assert sent_messages(emu, 2) == [{"role": "user", "content": "Again"}]


def test_emulate_ctrl_c_exits_130_on_a_fresh_line() -> None:
    with Terminal("g4f_sync", ["emulate", "--port", "0"], cwd=ROOT, env=ENV) as term:
        term.expect("Ctrl-C stops\r\n")
        term.wait_until_blocked()
        term.type(CTRL_C)
        assert term.wait() == 130
        assert term.rest() == "^C\r\n"


def test_a_server_that_lists_no_model_needs_one_named(
    make_emulator: MakeEmulator, chat: Any
) -> None:
    emu = make_emulator(openai=OpenAIOptions(models=[]))
    term = chat("--base-url", emu.url + "/v1")
    assert term.wait() == 1
    assert term.screen == (
        f"g4f-sync: NotFoundError: Custom: {emu.url}/v1/models lists no model: pass --model"
        " NAME\r\n"
    )
    named = chat("--base-url", emu.url + "/v1", "-m", "my-model")
    assert named.expect("> ").startswith(f"Chatting with my-model on Custom at {emu.url}/v1\r\n")
