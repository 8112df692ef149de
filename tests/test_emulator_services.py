"""The emulator's services as plug-ins: a service defined here, registered with one line,
runs in every Emulator and on the command line; the built-in ones keep their options."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Mapping

import pytest
import requests
from support import TIMEOUT, MakeEmulator

from g4f_sync.emulator import (
    SERVICES,
    ChatGpttOptions,
    Emulator,
    EmulatorProcess,
    Exchange,
    KoalaOptions,
    Service,
    ServiceOptions,
    option,
)
from g4f_sync.emulator.cli import add_arguments, emulator_from
from g4f_sync.emulator.exchange import Route
from g4f_sync.emulator.faults import send_rate_limit
from g4f_sync.emulator.query import parse_bool
from g4f_sync.emulator.service import echo_tokens
from g4f_sync.Provider import ChatGptt
from g4f_sync.Provider.registry import rebase_provider

# A whole service: its options, its routes, its faults.


@dataclass
class ShoutOptions(ServiceOptions):
    """What the shout service streams."""

    FAULTS: ClassVar[tuple[str, ...]] = ("rate_limit", "drop")

    upper: bool = option(False, parse=parse_bool, help="upper-case every token")


class ShoutService(Service[ShoutOptions]):
    """``POST /v1/shout`` streams the body's words back; ``GET /v1/voices`` lists voices."""

    options_class = ShoutOptions

    def routes(self) -> Mapping[tuple[str, str], Route]:
        return {("POST", "/v1/shout"): self.shout, ("GET", "/v1/voices"): self.voices}

    def voices(self, exchange: Exchange) -> None:
        exchange.respond(200, json.dumps(["loud"]), content_type="application/json")

    def shout(self, exchange: Exchange) -> None:
        options = self.options_for(exchange)
        if options is None:
            return
        self.count_answer()
        if options.fault == "rate_limit":
            return send_rate_limit(exchange, options.retry_after)
        words = options.tokens
        if words is None:
            words = echo_tokens(exchange.request.body.decode())
        exchange.start(200, {"Content-Type": "text/plain"}, framing=options.framing)
        if options.fault == "drop":
            exchange.write(words[0].encode())
            return exchange.drop()
        convert = str.upper if options.upper else str
        exchange.pace(len(words), lambda i: convert(words[i]).encode(), options.delay)


@pytest.fixture
def shout_registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The one line that adds a service, undone after the test."""
    monkeypatch.setitem(SERVICES, "shout", ShoutService)
    yield


def shout(emu: Emulator, body: str = "hello big world", query: str = "") -> requests.Response:
    url = f"{emu.url}/v1/shout" + (f"?{query}" if query else "")
    return requests.post(url, data=body.encode(), timeout=TIMEOUT)


@pytest.mark.usefixtures("shout_registered")
def test_a_registered_service_runs_in_the_emulator_next_to_the_others(
    make_emulator: MakeEmulator,
) -> None:
    emu = make_emulator(shout=ShoutOptions(tokens=["a", "b"], delay=0.001))
    assert shout(emu).text == "ab"
    assert requests.get(emu.url + "/v1/voices", timeout=TIMEOUT).json() == ["loud"]
    koala = requests.post(emu.url + "/api/gpt/?count=1", json={"input": "x"}, timeout=TIMEOUT)
    assert koala.text == 'data: "tok0 "\n\n'
    assert [r.path for r in emu.requests] == ["/v1/shout", "/v1/voices", "/api/gpt/"]
    assert set(emu.services) == {*SERVICES} and "shout" in emu.services


@pytest.mark.usefixtures("shout_registered")
def test_a_registered_service_has_live_options_and_query_options(
    make_emulator: MakeEmulator,
) -> None:
    emu = make_emulator()
    assert shout(emu).text == "hello big world"  # the defaults: echo
    emu.shout.upper = True
    assert shout(emu).text == "HELLO BIG WORLD"
    assert shout(emu, query="upper=false&tokens=x,y").text == "xy"
    bad = shout(emu, query="loudness=11")
    assert bad.status_code == 400 and "loudness" in bad.json()["error"]
    emu.shout = ShoutOptions(fault="rate_limit", retry_after="3")
    limited = shout(emu)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3")
    assert shout(emu, query="fault=none").status_code == 200
    with pytest.raises(TypeError, match="ShoutOptions"):
        emu.shout = KoalaOptions()  # type: ignore[assignment]
    with pytest.raises(ValueError, match="fault"):
        ShoutOptions(fault="cloudflare")


@pytest.mark.usefixtures("shout_registered")
def test_a_registered_service_can_drop_the_connection(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(shout=ShoutOptions(fault="drop"))
    response = requests.post(emu.url + "/v1/shout", data=b"a b", stream=True, timeout=TIMEOUT)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        response.content  # noqa: B018
    assert emu.requests[0].finished.wait(TIMEOUT) and emu.requests[0].status == 200


@pytest.mark.usefixtures("shout_registered")
def test_a_registered_service_gets_command_line_options() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--shout-upper", "--shout-tokens", "p,q", "--shout-delay", "0.001"])
    with emulator_from(args) as emu:
        assert (emu.shout.upper, emu.shout.tokens, emu.shout.delay) == (True, ["p", "q"], 0.001)
        assert shout(emu).text == "PQ"
    with pytest.raises(SystemExit):
        parser.parse_args(["--shout-fault", "cloudflare"])  # not one of its faults


# The built-in services, through the same machinery


def test_the_command_line_keeps_koalas_bare_option_names() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    bare = ["--count", "2", "--done", "--line-ending", "crlf", "--fault", "drop"]
    prefixed = [arg.replace("--", "--koala-") for arg in bare]
    for argv in (bare, prefixed):
        koala = emulator_from(parser.parse_args(argv)).koala
        assert koala == KoalaOptions(count=2, done=True, line_ending="\r\n", fault="drop")
    with pytest.raises(SystemExit):
        parser.parse_args(["--line-ending", "lfcr"])


def test_the_command_line_sets_every_chatgptt_option() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--chatgptt-answer",
            "sse",
            "--chatgptt-delay",
            "0.5",
            "--chatgptt-bot-id",
            "none",
            "--no-chatgptt-compress",
            "--chatgptt-fault",
            "stale_nonce",
        ]
    )
    chatgptt = emulator_from(args).chatgptt
    assert chatgptt == ChatGpttOptions(
        answer="sse", delay=0.5, bot_id=None, compress=False, fault="stale_nonce"
    )
    assert emulator_from(parser.parse_args([])).chatgptt == ChatGpttOptions()


def test_the_emulator_names_unknown_services_and_wrong_options() -> None:
    with pytest.raises(TypeError, match="nope"):
        Emulator(nope=KoalaOptions())
    with pytest.raises(TypeError, match="KoalaOptions"):
        Emulator(koala=ChatGpttOptions())  # type: ignore[arg-type]
    emu = Emulator()
    with pytest.raises(AttributeError, match="nope"):
        emu.nope  # noqa: B018
    assert "koala" in dir(emu) and "chatgptt" in dir(emu)


def test_two_services_cannot_share_a_route(monkeypatch: pytest.MonkeyPatch) -> None:
    class Impostor(Service[ServiceOptions]):
        def routes(self) -> Mapping[tuple[str, str], Route]:
            return {("post", "/api/gpt/"): lambda exchange: None}

    monkeypatch.setitem(SERVICES, "impostor", Impostor)
    with pytest.raises(ValueError, match="koala and impostor both route POST /api/gpt/"):
        Emulator()


def test_a_service_cannot_take_the_name_of_an_emulator_attribute(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(SERVICES, "url", ShoutService)
    with pytest.raises(ValueError, match="'url'"):
        Emulator()


# The emulator in a child process


def test_emulator_process_reports_a_child_that_prints_no_url() -> None:
    process = EmulatorProcess(["--no-such-option"])
    with pytest.raises(RuntimeError, match="did not report its URL"):
        process.start()
    assert process.process is None  # stopped and reaped


def test_emulator_process_passes_its_arguments_on() -> None:
    with EmulatorProcess(["--chatgptt-answer", "sse", "--chatgptt-tokens", "a,b"]) as process:
        chatgptt = rebase_provider(ChatGptt, process.url)
        messages = [{"role": "user", "content": "hi"}]
        answer = chatgptt.create_completion("", messages, timeout=TIMEOUT)  # type: ignore[attr-defined]
        assert list(answer) == ["a", "b"]
    assert process.stop() is None  # already stopped on leaving the block
