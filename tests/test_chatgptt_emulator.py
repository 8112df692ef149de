"""ChatGptt end to end: the provider against the emulated WordPress site over real HTTP."""

from __future__ import annotations

import contextlib
import http.client
import json
import secrets
import threading
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, List, Optional, Tuple
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from support import CONVERSATION, TIMEOUT, MakeEmulator, allocations_grown

from g4f_sync import errors
from g4f_sync.emulator import ChatGpttOptions, Emulator, chatgptt
from g4f_sync.emulator.chatgptt import EXPIRED, FAULTS, last_user_text, render_page
from g4f_sync.Provider import ChatGptt
from g4f_sync.Provider.ChatGptt import PageTokens, extract_tokens

AJAX = "/wp-admin/admin-ajax.php"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """One emulator for the module, started once: its tests read only the requests they
    made (``completion_requests``), so they share it."""
    with Emulator() as emulator:
        yield emulator


def run(
    emu: Emulator, stream: bool = True, **query: Any
) -> Tuple[List[str], Optional[errors.G4FError]]:
    """What a completion against ``emu`` yielded, and the error that ended it, if any."""
    provider = emu.provider(ChatGptt, **query)
    received: List[str] = []
    try:
        for token in provider.create_completion(
            "", CONVERSATION, stream=stream, max_retries=0, timeout=TIMEOUT
        ):
            received.append(token)
    except errors.G4FError as error:
        return received, error
    return received, None


def completion_requests(emu: Emulator, before: int) -> List[Any]:
    """The requests the emulator received since ``before``."""
    return emu.requests[before:]


def live_nonce(emu: Emulator) -> str:
    """The nonce of the live page (the same for every visitor, as in WordPress)."""
    return extract_tokens(requests.get(emu.url + "/", timeout=TIMEOUT).text).nonce


# Answers


@pytest.mark.parametrize("variant", ["shortcode", "widget"])
@pytest.mark.parametrize("quoting", ["double", "single", "unquoted"])
def test_json_answer_from_every_page_variant(emu: Emulator, variant: str, quoting: str) -> None:
    before = len(emu.requests)
    assert run(emu, variant=variant, quoting=quoting) == (["Say hello world"], None)
    page, post = completion_requests(emu, before)
    assert (page.method, page.path, page.status) == ("GET", "/", 200)
    assert (post.method, post.path, post.status) == ("POST", AJAX, 200)
    form = dict(parse_qsl(post.body.decode()))
    assert form["_wpnonce"] == live_nonce(emu)  # not the search form's decoy nonce
    assert (form["post_id"], form["bot_id"], form["wpaicg_chat_history"]) == ("106", "0", "[]")


@pytest.mark.parametrize("answer", ["sse", "sse_legacy", "sse_words"])
def test_streamed_answers(emu: Emulator, answer: str) -> None:
    assert run(emu, answer=answer) == (["Say ", "hello ", "world"], None)
    assert emu.requests[-1].tokens_sent == 3


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_tokens_arrive_as_they_are_sent(emu: Emulator, framing: str) -> None:
    """The first token is read while the emulator still waits a minute before the next."""
    provider = emu.provider(ChatGptt, answer="sse_words", delay=60, framing=framing)
    with provider.create_completion("", CONVERSATION, timeout=TIMEOUT) as stream:
        assert next(stream) == "Say "
        record = emu.requests[-1]
        assert record.tokens_sent == 1
    assert record.disconnected.wait(TIMEOUT)


def test_non_streaming_call_joins_a_streamed_answer(emu: Emulator) -> None:
    assert run(emu, stream=False, answer="sse") == (["Say hello world"], None)


def test_scripted_tokens_and_non_ascii_through_php_json(emu: Emulator) -> None:
    tokens = ["H\u00e9llo", " w\u00f6rld/", " \U0001f642"]
    assert run(emu, tokens=tokens) == (["H\u00e9llo w\u00f6rld/ \U0001f642"], None)
    assert run(emu, tokens=tokens, answer="sse") == (tokens, None)


def test_cookie_from_the_page_goes_back_with_the_post(emu: Emulator) -> None:
    before = len(emu.requests)
    run(emu)
    page, post = completion_requests(emu, before)
    assert "Cookie" not in page.headers
    assert post.headers["Cookie"].startswith("PHPSESSID=")
    assert post.headers["Referer"] == post.headers["Origin"] == emu.url


def test_page_is_read_gzip_compressed_or_plain(emu: Emulator) -> None:
    before = len(emu.requests)
    assert run(emu) == (["Say hello world"], None)
    assert "gzip" in emu.requests[before].headers["Accept-Encoding"]  # so the page came gzipped
    response = requests.get(emu.url + "/", timeout=TIMEOUT, stream=True)
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.raw.read(2) == b"\x1f\x8b"
    assert run(emu, compress=False) == (["Say hello world"], None)


# Faults


@pytest.mark.parametrize(
    ("query", "kind", "text"),
    [
        ({"fault": "error_json"}, errors.RequestRejectedError, "Incorrect API key provided"),
        ({"fault": "token_limit"}, errors.RateLimitError, "You have reached your token limit."),
        (
            {"fault": "token_limit", "answer": "sse"},
            errors.RateLimitError,
            "You have reached your token limit.",
        ),
        ({"fault": "ip_banned"}, errors.IPBannedError, "not allowed to access"),
        ({"fault": "ip_banned", "answer": "sse_words"}, errors.IPBannedError, "not allowed"),
        ({"fault": "message_flagged"}, errors.ContentFlaggedError, "flagged as potentially"),
        (
            {"fault": "message_flagged", "answer": "sse_legacy"},
            errors.ContentFlaggedError,
            "flagged as potentially",
        ),
        ({"fault": "html_instead_of_json"}, errors.ResponseError, "got text/html (HTTP 200)"),
        ({"fault": "plugin_removed"}, errors.ProviderNotWorkingError, "plugin 2.3 and later"),
        ({"fault": "cloudflare_post"}, errors.CloudflareError, "POST http://"),
        ({"fault": "cloudflare_page"}, errors.CloudflareError, "GET http://"),
        ({"fault": "rate_limit", "retry_after": "7"}, errors.RateLimitError, "retry after 7 s"),
        ({"fault": "no_tokens"}, errors.MissingPageTokensError, "'Page not found"),
        ({"fault": "empty_page"}, errors.MissingPageTokensError, "the page was empty"),
        ({"fault": "huge_page"}, errors.ResponseError, "exceeds 4,194,304 bytes"),
        ({"fault": "huge_page", "compress": False}, errors.ResponseError, "exceeds 4,194,304"),
    ],
)
def test_every_fault_raises_its_error(
    emu: Emulator, query: dict[str, Any], kind: type, text: str
) -> None:
    received, error = run(emu, **query)
    assert received == []
    assert type(error) is kind
    assert text in str(error)
    assert str(error).startswith("ChatGptt: ")


def test_site_messages_are_kept(emu: Emulator) -> None:
    _, error = run(emu, fault="ip_banned")
    assert isinstance(error, errors.IPBannedError)
    assert error.site_message == "You are not allowed to access this feature."
    _, error = run(emu, fault="rate_limit", retry_after="7")
    assert isinstance(error, errors.RateLimitError) and error.retry_after == 7


def test_limited_yields_the_words_then_raises(emu: Emulator) -> None:
    received, error = run(emu, fault="limited", limit_after=2)
    assert received == ["Say ", "hello "]
    assert isinstance(error, errors.RateLimitError)
    assert "limited the request" in str(error)
    assert error.partial == "Say hello "
    _, error = run(emu, stream=False, fault="limited", limit_after=1)
    assert error is not None and error.partial == "Say "


def test_stale_nonce_fetches_the_page_again_exactly_once(emu: Emulator) -> None:
    before = len(emu.requests)
    assert run(emu, fault="stale_nonce", answer="sse") == (["Say ", "hello ", "world"], None)
    requests_made = completion_requests(emu, before)
    assert [(r.method, r.status) for r in requests_made] == [
        ("GET", 200),
        ("POST", 403),
        ("GET", 200),
        ("POST", 200),
    ]
    first_nonce, second_nonce = (
        dict(parse_qsl(r.body.decode()))["_wpnonce"] for r in requests_made[1::2]
    )
    assert first_nonce != second_nonce == live_nonce(emu)
    # The second page came with the session cookie, which is what got it past the cache.
    assert requests_made[2].headers["Cookie"] == requests_made[3].headers["Cookie"]


def test_only_a_session_the_emulator_issued_gets_past_the_page_cache(emu: Emulator) -> None:
    page = emu.url + "/?fault=stale_nonce"

    def nonce_for(session: str) -> str:
        response = requests.get(page, cookies={"PHPSESSID": session}, timeout=TIMEOUT)
        return extract_tokens(response.text).nonce

    first = requests.get(page, timeout=TIMEOUT)
    issued = first.cookies["PHPSESSID"]
    live = live_nonce(emu)
    assert extract_tokens(first.text).nonce != live
    assert nonce_for(issued) == live
    altered = issued[:-1] + ("1" if issued[-1] == "0" else "0")
    for forged in (altered, "0" * len(issued), "\u00e9" * len(issued), issued + "0", ""):
        assert nonce_for(forged) != live


def test_issuing_sessions_retains_no_memory_per_visitor(make_emulator: MakeEmulator) -> None:
    """A visitor without a cookie gets a session; the site keeps nothing of it."""
    only_the_site = [
        tracemalloc.Filter(True, chatgptt.__file__),
        tracemalloc.Filter(True, secrets.__file__),
    ]
    emulator = make_emulator()  # a fresh one: no other test's visitors
    netloc = urlsplit(emulator.url).netloc
    with contextlib.closing(http.client.HTTPConnection(netloc, timeout=TIMEOUT)) as connection:

        def visit() -> None:  # no cookie sent: a new visitor each time
            connection.request("GET", "/")
            response = connection.getresponse()
            assert "PHPSESSID" in response.getheader("Set-Cookie", "")
            response.read()
            assert emulator.requests[-1].finished.wait(TIMEOUT)  # the route has returned

        assert allocations_grown(visit, only_the_site, repeat=100) == []


def test_a_nonce_rejected_twice_is_a_clear_error(emu: Emulator) -> None:
    before = len(emu.requests)
    received, error = run(emu, fault="nonce_rejected")
    assert received == []
    assert isinstance(error, errors.NonceRejectedError)
    assert "rejected the nonce of a freshly fetched page too" in str(error)
    assert EXPIRED in error.body
    methods = [r.method for r in completion_requests(emu, before)]
    assert methods == ["GET", "POST", "GET", "POST"]


# The proxy


class ForwardProxy(ThreadingHTTPServer):
    """A loopback HTTP forward proxy that records every absolute-URI request it relays."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.seen: List[Tuple[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(BaseHTTPRequestHandler):
    server: ForwardProxy

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _relay(self) -> None:
        self.server.seen.append((self.command, self.path))
        target = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        hop = {"proxy-connection", "connection", "keep-alive"}
        headers = {k: v for k, v in self.headers.items() if k.lower() not in hop}
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=TIMEOUT)
        try:
            path = target.path + (f"?{target.query}" if target.query else "")
            upstream.request(self.command, path, body or None, headers)
            answer = upstream.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        finally:
            upstream.close()

    do_GET = do_POST = _relay  # noqa: N815


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    server = ForwardProxy()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def test_the_proxy_carries_both_requests(emu: Emulator, proxy: ForwardProxy) -> None:
    provider = emu.provider(ChatGptt, answer="sse")
    tokens = list(provider.create_completion("", CONVERSATION, proxy=proxy.url, max_retries=0))
    assert tokens == ["Say ", "hello ", "world"]
    assert [method for method, _ in proxy.seen] == ["GET", "POST"]
    assert proxy.seen[0][1] == provider.url.replace("?", "/?", 1)
    assert proxy.seen[1][1] == provider.api_endpoint
    assert emu.requests[-1].headers["Cookie"].startswith("PHPSESSID=")


def test_the_stale_nonce_retry_goes_through_the_proxy_too(
    emu: Emulator, proxy: ForwardProxy
) -> None:
    provider = emu.provider(ChatGptt, fault="stale_nonce")
    assert list(provider.create_completion("", CONVERSATION, proxy=proxy.url)) == [
        "Say hello world"
    ]
    assert [method for method, _ in proxy.seen] == ["GET", "POST", "GET", "POST"]


# The emulator itself, seen from a plain HTTP client


def post_form(emu: Emulator, form: dict[str, str], query: str = "", **kwargs: Any) -> Any:
    url = emu.url + AJAX + (f"?{query}" if query else "")
    return requests.post(url, data=form, timeout=TIMEOUT, **kwargs)


def valid_form(emu: Emulator, **changes: str) -> dict[str, str]:
    page = requests.get(emu.url + "/", timeout=TIMEOUT).text
    tokens = extract_tokens(page)
    form = {
        "_wpnonce": tokens.nonce,
        "post_id": tokens.post_id,
        "action": "wpaicg_chatbox_message",
        "message": "Hi there",
        "bot_id": tokens.bot_id,
        "wpaicg_chat_history": "[]",
    }
    return {**form, **changes}


def test_handler_accepts_the_widget_action_and_answers_as_php_does(emu: Emulator) -> None:
    response = post_form(emu, valid_form(emu, message="a/\u00e9"))
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert response.text == (
        '{"status":"success","msg":"Something went wrong","greeting_message":'
        '"Hello! How can I help you today?","data":"a\\/\\u00e9","log":false}'
    )


def test_handler_checks_action_then_nonce_then_form(emu: Emulator) -> None:
    assert post_form(emu, valid_form(emu, action="other")).text == "0"
    assert post_form(emu, valid_form(emu, action="other")).status_code == 400
    assert post_form(emu, {}).status_code == 400
    stale = post_form(emu, valid_form(emu, _wpnonce="0000000000"))
    assert (stale.status_code, stale.text) == (403, EXPIRED)
    with_referer = post_form(
        emu, valid_form(emu, _wpnonce="x"), headers={"Referer": "http://site/chat"}
    )
    assert with_referer.text == (
        EXPIRED + '</p><p><a href="http://site/chat">Please try again.</a>'
    )
    for history, ok in [("None", False), ('["a \\"b\\""]', False), ('["a \u201db\u201d"]', True)]:
        answer = post_form(emu, valid_form(emu, wpaicg_chat_history=history)).json()
        assert (answer["status"] == "success") is ok, (history, answer)
    assert post_form(emu, valid_form(emu, message=" ")).json()["status"] == "error"
    assert post_form(emu, valid_form(emu, post_id="x")).json()["msg"].startswith("emulator:")


def test_page_variants_render_the_tokens(emu: Emulator) -> None:
    for variant in ("shortcode", "widget"):
        for quoting in ("double", "single", "unquoted"):
            options = ChatGpttOptions(variant=variant, quoting=quoting, bot_id="7")  # type: ignore[arg-type]
            page = render_page(options, "n0nce", "decoy", "https://chatgptt.me/")
            assert extract_tokens(page) == PageTokens("n0nce", "106", "7")
    unquoted = render_page(ChatGpttOptions(quoting="unquoted"), "n0nce", "d", "u")
    assert "data-nonce=n0nce " in unquoted and 'class="wpaicg-chat-shortcode"' not in unquoted
    no_bot = render_page(ChatGpttOptions(bot_id=None), "n", "d", "u")
    assert "data-bot-id" not in no_bot


def test_bad_query_and_options_are_named(emu: Emulator) -> None:
    response = requests.get(emu.url + "/?variant=popup&bogus=1", timeout=TIMEOUT)
    assert response.status_code == 400
    assert "bogus" in response.json()["error"]
    response = requests.get(emu.url + "/?variant=popup", timeout=TIMEOUT)
    assert "variant" in response.json()["error"]
    for field, value in [("answer", "xml"), ("fault", "fire"), ("post_id", "x"), ("delay", -1)]:
        with pytest.raises(ValueError, match=field):
            ChatGpttOptions(**{field: value})
    assert set(FAULTS) >= {"stale_nonce", "limited", "plugin_removed", "huge_page"}


def test_options_can_be_assigned_on_the_emulator(make_emulator: MakeEmulator) -> None:
    emulator = make_emulator(chatgptt=ChatGpttOptions(answer="sse_words", tokens=["a", "b"]))
    assert run(emulator) == (["a", "b"], None)
    emulator.chatgptt.fault = "error_json"
    assert isinstance(run(emulator)[1], errors.RequestRejectedError)
    emulator.chatgptt = ChatGpttOptions()
    assert run(emulator) == (["Say hello world"], None)


@pytest.mark.parametrize(
    ("message", "text"),
    [
        ("Just one message", "Just one message"),
        ("User: a\nAssistant: b\nUser: c d\nAssistant:", "c d"),
        ("System: s\nUser: x\nAssistant:", "x"),
    ],
)
def test_echo_takes_the_last_user_line(message: str, text: str) -> None:
    assert last_user_text(message) == text


def test_streamed_events_are_openai_chunks(emu: Emulator) -> None:
    response = post_form(emu, valid_form(emu, message="a b"), "answer=sse")
    assert response.headers["Content-Type"] == "text/event-stream; charset=UTF-8"
    events = [block for block in response.text.split("\n\n") if block]
    payloads = [block.removeprefix("data: ") for block in events]
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert [c["choices"][0]["delta"].get("content") for c in chunks] == [None, "a ", "b", None]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    words = post_form(emu, valid_form(emu, message="a b"), "answer=sse_words").text
    assert words.endswith('event: message\ndata: {"choices":[{"finish_reason":"stop"}]}\n\n')
