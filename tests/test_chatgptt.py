"""ChatGptt's request shape and answer parsing (HTTP mocked by responses), and the page
token extraction and history encoding as pure functions, property-tested."""

from __future__ import annotations

import json
import re
import string
import subprocess
import sys
from typing import Any, List, Optional, Tuple
from urllib.parse import parse_qsl, urlencode

import pytest
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import CONVERSATION, HI, ROOT

from g4f_sync import errors
from g4f_sync.Provider import ChatGptt, ProviderUtils, __providers__
from g4f_sync.Provider.ChatGptt import (
    PageTokens,
    describe_page,
    encode_history,
    extract_tokens,
)

PAGE = """<!DOCTYPE html><html><head><title>ChatGPT Online</title></head><body>
<div class="wpaicg-chat-shortcode" data-user-bg-color="#444654" data-nonce="8f3c2a1b9d"
     data-post-id="106" data-url="https://chatgptt.me/" data-bot-id="0" data-type="shortcode">
</div></body></html>"""
REFERENCE_FORM = [  # what the reference sends, its random client id and history aside
    ("_wpnonce", "8f3c2a1b9d"),
    ("post_id", "106"),
    ("url", "https://chatgptt.me"),
    ("action", "wpaicg_chat_shortcode_message"),
    (
        "message",
        "System: You are terse.\nUser: Hi\nAssistant: Hello!\nUser: Say hello world\nAssistant:",
    ),
    ("bot_id", "0"),
    ("chatbot_identity", "shortcode"),
]
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def mock_page(body: str = PAGE, status: int = 200, **kwargs: Any) -> None:
    responses.get(ChatGptt.url, body=body, status=status, content_type="text/html", **kwargs)


def mock_json(answer: Any, status: int = 200) -> None:
    responses.post(ChatGptt.api_endpoint, json=answer, status=status)


def mock_events(body: str) -> None:
    mock_page()
    responses.post(ChatGptt.api_endpoint, body=body, content_type="text/event-stream")


def success(data: str) -> dict[str, Any]:
    return {"status": "success", "msg": "Something went wrong", "data": data, "log": False}


def chunk(text: str) -> str:
    return "data: " + json.dumps({"choices": [{"delta": {"content": text}}]}) + "\n\n"


def consume(stream: Any) -> Tuple[List[str], Optional[errors.G4FError]]:
    """The tokens a stream yielded, and the error that ended it (None at a normal end)."""
    received: List[str] = []
    try:
        for token in stream:
            received.append(token)
    except errors.G4FError as error:
        return received, error
    return received, None


# The request


@responses.activate
def test_form_for_the_example_conversation_equals_the_reference() -> None:
    mock_page()
    mock_json(success("Hello world"))
    assert list(ChatGptt.create_completion("", CONVERSATION)) == ["Hello world"]
    page, post = (call.request for call in responses.calls)
    assert (page.method, post.method) == ("GET", "POST")
    assert post.headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = parse_qsl(post.body, keep_blank_values=True)
    names = [name for name, _ in fields]
    assert fields[:7] == REFERENCE_FORM
    assert names[7:] == ["wpaicg_chat_client_id", "wpaicg_chat_history"]
    assert re.fullmatch(r"[0-9a-f]{10}", fields[7][1])
    assert fields[8][1] == "[]"  # a real JSON list; the reference sent the string None
    assert post.body.startswith(urlencode(REFERENCE_FORM) + "&wpaicg_chat_client_id=")


@responses.activate
def test_headers_and_referer_come_from_url() -> None:
    mock_page()
    mock_json(success("x"))
    list(ChatGptt.create_completion("gpt-4", HI))
    page, post = (call.request for call in responses.calls)
    assert post.headers["User-Agent"].endswith("Chrome/131.0.0.0 Safari/537.36")
    assert page.headers["User-Agent"] == post.headers["User-Agent"]
    assert page.headers["Accept"].startswith("text/html")
    assert post.headers["Accept"] == "application/json, text/event-stream"
    assert post.headers["Origin"] == "https://chatgptt.me"
    assert post.headers["Referer"] == "https://chatgptt.me"


@responses.activate
def test_cookies_of_the_page_go_back_with_the_post() -> None:
    mock_page(headers={"Set-Cookie": "PHPSESSID=abc123; path=/"})
    mock_json(success("x"))
    list(ChatGptt.create_completion("", HI))
    assert responses.calls[1].request.headers["Cookie"] == "PHPSESSID=abc123"


@responses.activate
def test_bot_id_comes_from_the_page_and_defaults_to_zero() -> None:
    mock_page(PAGE.replace('data-bot-id="0"', 'data-bot-id="42"'))
    mock_json(success("x"))
    list(ChatGptt.create_completion("", HI))
    assert dict(parse_qsl(responses.calls[1].request.body))["bot_id"] == "42"
    assert extract_tokens(PAGE.replace('data-bot-id="0"', "")).bot_id == "0"


class Mirror(ChatGptt):
    url = "http://mirror.test:8080/chat/"
    api_endpoint = "http://mirror.test:8080/wp-admin/admin-ajax.php"


@responses.activate
def test_a_subclass_talks_to_another_host() -> None:
    responses.get(Mirror.url, body=PAGE, content_type="text/html")
    responses.post(Mirror.api_endpoint, json=success("ok"))
    assert list(Mirror.create_completion("", HI)) == ["ok"]
    post = responses.calls[1].request
    assert post.headers["Origin"] == "http://mirror.test:8080"
    assert post.headers["Referer"] == Mirror.url
    assert dict(parse_qsl(post.body))["url"] == Mirror.url


def test_registered_and_exported() -> None:
    import g4f_sync

    assert ChatGptt in __providers__
    assert ProviderUtils.convert["ChatGptt"] is ChatGptt
    assert g4f_sync.ChatGptt is ChatGptt
    assert (ChatGptt.url, ChatGptt.api_endpoint) == (
        "https://chatgptt.me",
        "https://chatgptt.me/wp-admin/admin-ajax.php",
    )
    assert ChatGptt.working is False
    assert ChatGptt.supports_stream and ChatGptt.supports_system_message
    assert ChatGptt.supports_message_history


# Models


def test_models_default_and_aliases() -> None:
    assert ChatGptt.get_model("") == ChatGptt.get_model(None) == "gpt-4o"
    assert ChatGptt.get_models() == ["gpt-4", "gpt-4o", "gpt-4o-mini"]
    assert ChatGptt.get_model("gpt-4o-mini") == "gpt-4o-mini"
    assert ChatGptt.get_model("gpt-4o-2024-08-06") == "gpt-4o"


def test_unknown_model_fails_before_io_listing_the_models() -> None:
    with pytest.raises(errors.ModelNotSupportedError) as info:
        ChatGptt.create_completion("claude-3", HI)
    assert "it supports: gpt-4, gpt-4o, gpt-4o-mini" in str(info.value)


# JSON answers


@responses.activate
def test_success_yields_data_whatever_msg_says() -> None:
    mock_page()
    mock_json(success("Hello \u00e9 / world"))
    assert list(ChatGptt.create_completion("", HI, stream=False)) == ["Hello \u00e9 / world"]


@responses.activate
def test_empty_error_fields_in_a_success_are_not_errors() -> None:
    mock_page()
    mock_json({**success("fine"), "error": None, "tokenLimitReached": False})
    assert list(ChatGptt.create_completion("", HI)) == ["fine"]


@responses.activate
def test_a_page_without_charset_is_read_as_utf8() -> None:
    responses.get(ChatGptt.url, body="<title>Caf\u00e9</title>".encode(), content_type="text/html")
    with pytest.raises(errors.MissingPageTokensError, match="title was 'Caf\u00e9'"):
        list(ChatGptt.create_completion("", HI))


@pytest.mark.parametrize(
    ("answer", "kind", "text"),
    [
        ({"status": "error", "msg": "Banned word"}, errors.RequestRejectedError, "Banned word"),
        (
            {"msg": "You have reached your token limit.", "tokenLimitReached": True},
            errors.RateLimitError,
            "token limit is reached: You have reached your token limit.",
        ),
        ({"msg": "Go away", "ipBanned": True}, errors.IPBannedError, "banned this IP"),
        ({"msg": "Flagged", "messageFlagged": True}, errors.ContentFlaggedError, "flagged"),
        ({"status": "success", "data": None}, errors.ResponseError, "a string 'data'"),
        ({"status": "weird"}, errors.ResponseError, "expected status 'success'"),
        (["data"], errors.ResponseError, "expected a JSON object"),
    ],
)
@responses.activate
def test_json_answers_raise_typed_errors(answer: Any, kind: type, text: str) -> None:
    mock_page()
    mock_json(answer)
    with pytest.raises(kind, match=re.escape(text)) as info:
        list(ChatGptt.create_completion("", HI))
    assert str(info.value).startswith("ChatGptt: ")
    if isinstance(info.value, errors.RequestRejectedError):
        assert info.value.site_message == answer["msg"]
    if isinstance(info.value, errors.RateLimitError):
        assert info.value.status_code == 200 and info.value.retry_after is None


@responses.activate
def test_html_where_json_was_expected_gives_an_excerpt() -> None:
    mock_page()
    page = "<html><title>Home</title>" + "x" * 500
    responses.post(ChatGptt.api_endpoint, body=page, content_type="text/html")
    with pytest.raises(errors.ResponseError, match=r"got text/html \(HTTP 200\): <html>") as info:
        list(ChatGptt.create_completion("", HI))
    assert len(str(info.value)) < 400


# Streamed answers


@responses.activate
def test_event_stream_yields_delta_content_until_done() -> None:
    role = 'data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n'
    mock_events(role + chunk("Hel") + chunk("lo") + "data: [DONE]\n\n" + chunk("never"))
    assert list(ChatGptt.create_completion("", HI)) == ["Hel", "lo"]


@responses.activate
def test_legacy_text_chunks_and_finish_reason_then_eof() -> None:
    legacy = "".join(f"data: {json.dumps({'choices': [{'text': t}]})}\n\n" for t in ("a", "b"))
    stop = 'event: message\ndata: {"choices":[{"finish_reason":"stop"}]}\n\n'
    mock_events(legacy + stop)
    assert list(ChatGptt.create_completion("", HI)) == ["a", "b"]


@responses.activate
def test_limited_yields_what_came_then_raises() -> None:
    mock_events(chunk("Say ") + chunk("hello ") + "data: [LIMITED]\n\n")
    received, error = consume(ChatGptt.create_completion("", HI))
    assert received == ["Say ", "hello "]
    assert isinstance(error, errors.RateLimitError)
    assert "the site limited the request" in str(error)
    assert error.partial == "Say hello "


@pytest.mark.parametrize(
    ("flag", "kind"),
    [
        ('{"msg":"limit","tokenLimitReached":true}', errors.RateLimitError),
        ('{"msg":"banned","ipBanned":true}', errors.IPBannedError),
        ('{"msg":"flagged","messageFlagged":true}', errors.ContentFlaggedError),
        ('{"error":{"message":"upstream failed"}}', errors.RequestRejectedError),
        ("{not json", errors.ResponseError),
        ('{"no": "choices"}', errors.ResponseError),
        ('{"choices":[{"delta":{"content":5}}]}', errors.ResponseError),
    ],
)
@responses.activate
def test_objects_in_the_stream_raise_after_earlier_tokens(flag: str, kind: type) -> None:
    mock_events(chunk("a") + f"data: {flag}\n\n" + chunk("b"))
    received, error = consume(ChatGptt.create_completion("", HI))
    assert received == ["a"]
    assert type(error) is kind
    assert error.partial == "a"


@responses.activate
def test_keepalives_empty_choices_and_other_events_are_skipped() -> None:
    mock_events(': ping\n\nevent: ping\ndata: {}\n\ndata: {"choices":[]}\n\n' + chunk("a"))
    assert list(ChatGptt.create_completion("", HI)) == ["a"]


# Statuses


@responses.activate
def test_stale_nonce_fetches_the_page_once_more() -> None:
    mock_page(PAGE.replace("8f3c2a1b9d", "stale00000"))
    mock_page()
    expired = "The link you followed has expired.</p><p><a href='x'>Please try again.</a>"
    responses.post(ChatGptt.api_endpoint, body=expired, status=403, content_type="text/html")
    mock_json(success("fresh"))
    assert list(ChatGptt.create_completion("", HI)) == ["fresh"]
    nonces = [dict(parse_qsl(c.request.body))["_wpnonce"] for c in responses.calls[1::2]]
    assert [c.request.method for c in responses.calls] == ["GET", "POST", "GET", "POST"]
    assert nonces == ["stale00000", "8f3c2a1b9d"]


@pytest.mark.parametrize(
    ("status", "body", "kind", "text", "attributes", "requests_made"),
    [
        (
            403,
            "The link you followed has expired.",
            errors.NonceRejectedError,
            "freshly fetched page too",
            {"status_code": 403},
            4,  # the page is fetched once more, and the nonce rejected again: final
        ),
        (400, "0", errors.ProviderNotWorkingError, "plugin 2.3 and later", {"marked": False}, 2),
        (404, "nope", errors.NotFoundError, "HTTP 404", {"status_code": 404}, 2),
    ],
    ids=[
        "a nonce rejected twice is final",
        "400 with 0 means the plugin handler is gone",
        "other statuses go through the shared mapping",
    ],
)
@responses.activate
def test_an_error_status_of_the_post_raises_its_typed_error(
    status: int, body: str, kind: type, text: str, attributes: dict, requests_made: int
) -> None:
    mock_page()
    responses.post(ChatGptt.api_endpoint, body=body, status=status)
    with pytest.raises(kind, match=re.escape(text)) as info:
        list(ChatGptt.create_completion("", HI))
    assert type(info.value) is kind
    assert {name: getattr(info.value, name) for name in attributes} == attributes
    assert len(responses.calls) == requests_made


@responses.activate
def test_a_page_without_tokens_raises_a_runtime_error_naming_the_attribute() -> None:
    mock_page("<html><head><title>Maintenance</title></head><body></body></html>")
    with pytest.raises(RuntimeError, match="data-nonce") as info:
        list(ChatGptt.create_completion("", HI))
    assert isinstance(info.value, errors.MissingPageTokensError)
    assert isinstance(info.value, errors.G4FError)
    assert "'Maintenance'" in str(info.value)
    assert len(responses.calls) == 1  # nothing was posted


# Page tokens, as a pure function


def test_extract_tokens_prefers_the_chat_element_over_other_nonces() -> None:
    page = (
        '<form class="search" data-nonce="decoy"></form>'
        '<div class="wpaicg-chatbox" data-nonce="box" data-post-id="2"></div>'
        '<div class="x wpaicg-chat-shortcode y" data-nonce="sc" data-post-id="1"></div>'
    )
    assert extract_tokens(page) == PageTokens("sc", "1", "0")
    assert extract_tokens(page.rsplit("<div", 1)[0]) == PageTokens("box", "2", "0")
    fallback = '<form class="search" data-nonce=" any " data-post-id="9" data-bot-id="3">'
    assert extract_tokens(fallback) == PageTokens("any", "9", "3")


@pytest.mark.parametrize(
    ("page", "attribute", "says"),
    [
        ("", "data-nonce", "the page was empty"),
        ("   \n", "data-nonce", "the page was empty"),
        ("Just text", "data-nonce", "began with 'Just text'"),
        ("<title>Just a moment...</title>", "data-nonce", "Cloudflare challenge"),
        ('<div id="cf-please-wait"></div>', "data-nonce", "Cloudflare challenge"),
        ("<title> About\n us </title><p>x", "data-nonce", "title was 'About us'"),
        ('<div class="wpaicg-chatbox"></div>', "data-nonce", "not found on the chat element"),
        ('<div class="wpaicg-chatbox" data-nonce=" "></div>', "data-nonce", "is empty"),
        ('<i class="wpaicg-chatbox" data-nonce="n"></i>', "data-post-id", "<i class="),
        ('<i data-nonce="n" data-post-id=""></i>', "data-post-id", "data-post-id is empty"),
    ],
)
def test_missing_tokens_name_the_attribute_and_the_page(
    page: str, attribute: str, says: str
) -> None:
    with pytest.raises(errors.MissingPageTokensError) as info:
        extract_tokens(page)
    assert info.value.attribute == attribute
    assert attribute in str(info.value) and says in str(info.value)


def test_describe_page_without_soup() -> None:
    assert describe_page("<title>Just a moment...</title>") == (
        "the page was a Cloudflare challenge, not the site (try another proxy)"
    )


def test_missing_beautifulsoup_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bs4", None)
    with pytest.raises(errors.MissingRequirementsError, match="pip install beautifulsoup4"):
        extract_tokens(PAGE)


def test_import_g4f_sync_does_not_import_bs4_but_chatgptt_use_does() -> None:
    subprocess.run(
        [sys.executable, "-c", "import g4f_sync, sys; assert 'bs4' not in sys.modules"],
        cwd=ROOT,
        check=True,
    )
    code = (
        "import sys; from g4f_sync.Provider.ChatGptt import extract_tokens\n"
        "assert 'bs4' not in sys.modules\n"
        "extract_tokens('<div data-nonce=a data-post-id=1>')\n"
        "assert 'bs4' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


NONCES = st.text(string.ascii_letters + string.digits, min_size=1, max_size=12)
IDS = st.integers(0, 10**7).map(str)
SPACES = st.sampled_from([" ", "  ", "\n", "\t", "\r\n    ", " \n\t "])
AROUND_EQUALS = st.sampled_from(["", " ", "\n", " \t "])
FILLER = st.lists(
    st.sampled_from(
        [
            "<p>Chat with AI</p>",
            "<div class='wrap'>",
            "</div>",
            "<!-- wp:shortcode -->",
            "<br>",
            "plain & text",
            '<script>var a = 1 < 2 && "x";</script>',
            "<img src=\"a.png\" alt='x'>",
            "<title>Home</title>",
            '<input name="s" value="wpaicg-chatbox">',
        ]
    ),
    max_size=6,
).map("".join)


@st.composite
def chat_pages(draw: st.DrawFn) -> Tuple[str, PageTokens]:
    """A page whose chat element carries the tokens, written in any of the ways HTML allows."""
    tokens = PageTokens(draw(NONCES), draw(IDS), draw(st.one_of(st.just("0"), IDS)))
    attributes = [("data-nonce", tokens.nonce), ("data-post-id", tokens.post_id)]
    if tokens.bot_id != "0" or draw(st.booleans()):
        attributes.append(("data-bot-id", tokens.bot_id))
    attributes += draw(
        st.lists(
            st.sampled_from(
                [
                    ("data-url", "https://chatgptt.me/"),
                    ("data-type", "shortcode"),
                    ("style", "width: 100%;"),
                    ("data-ai-name", "AI Bot"),
                    ("id", "chat-1"),
                ]
            ),
            unique=True,
        )
    )
    kind = draw(st.sampled_from(["wpaicg-chat-shortcode", "wpaicg-chatbox", None]))
    if kind is not None:
        attributes.append(("class", draw(st.sampled_from(["{}", "a {}", "{} b c"])).format(kind)))
    written = []
    for name, value in draw(st.permutations(attributes)):
        quoting = draw(st.sampled_from(["double", "single", "unquoted"]))
        if quoting == "unquoted" and re.search(r"[\s\"'=<>`]", value):
            quoting = "double"
        quote = {"double": '"', "single": "'", "unquoted": ""}[quoting]
        name = name.upper() if draw(st.booleans()) else name
        equals = draw(AROUND_EQUALS) + "=" + draw(AROUND_EQUALS)
        written.append(f"{draw(SPACES)}{name}{equals}{quote}{value}{quote}")
    tag = draw(st.sampled_from(["div", "section", "span"]))
    element = f"<{tag}{''.join(written)}{draw(st.sampled_from(['', ' ', chr(10)]))}>"
    return f"{draw(FILLER)}{element}{draw(FILLER)}</{tag}>{draw(FILLER)}", tokens


@SETTINGS
@given(chat_pages())
def test_extract_tokens_under_every_quoting_and_ordering(page: Tuple[str, PageTokens]) -> None:
    html, tokens = page
    assert extract_tokens(html) == tokens


HTML_PIECES = st.sampled_from(
    [
        "<",
        ">",
        "</",
        "/>",
        "<!",
        "<!--",
        "-->",
        "<![CDATA[",
        "]]>",
        "<?",
        "<div",
        "<script>",
        "</script>",
        "<title>",
        "</title>",
        " ",
        "=",
        '"',
        "'",
        "&",
        "&#",
        "&#x110000;",
        "\x00",
        "\n",
        "data-nonce",
        "data-post-id",
        "data-bot-id",
        "class",
        "wpaicg-chatbox",
        "wpaicg-chat-shortcode",
        "Just a moment...",
        "\u00e9",
        "\ud800",
    ]
)
ARBITRARY_HTML = st.one_of(
    st.text(), st.lists(st.one_of(HTML_PIECES, st.text(max_size=3))).map("".join)
)


@SETTINGS
@given(ARBITRARY_HTML)
def test_extract_tokens_on_arbitrary_html_returns_tokens_or_the_documented_error(
    html: str,
) -> None:
    try:
        tokens = extract_tokens(html)
    except errors.MissingPageTokensError as error:
        assert error.attribute in ("data-nonce", "data-post-id")
        assert error.attribute in str(error)
        assert isinstance(error, RuntimeError)
    else:
        assert tokens.nonce and tokens.post_id and tokens.bot_id
        assert tokens.nonce == tokens.nonce.strip()


# History


def test_history_escapes_become_look_alikes() -> None:
    history = encode_history(['say "hi"\\n', "line\r\nbreak\ttab"])
    assert history == '["say \u201dhi\u201d\uff3cn","line\u2028break tab"]'
    assert encode_history([]) == "[]"


@SETTINGS
@given(st.lists(st.text()))
def test_history_survives_the_server_stripping_backslashes(turns: List[str]) -> None:
    history = encode_history(turns)
    assert "\\" not in history
    history.encode("utf-8")  # no lone surrogate left to break the form encoding
    decoded = json.loads(history.replace("\\", ""))
    assert decoded == json.loads(history)
    assert len(decoded) == len(turns)
    for turn, sent in zip(turns, decoded):
        if not re.search(r'["\\\x00-\x1f\ud800-\udfff]', turn):
            assert sent == turn


@responses.activate
def test_a_json_answer_nested_too_deeply_is_a_response_error() -> None:
    mock_page()
    deep = '{"data": ' + "[" * 100_000 + "]" * 100_000 + "}"
    responses.post(ChatGptt.api_endpoint, body=deep, content_type="application/json")
    with pytest.raises(errors.ResponseError) as info:
        list(ChatGptt.create_completion("", HI))
    assert str(info.value).startswith("ChatGptt: expected JSON from POST ")
    assert str(info.value).endswith("(its JSON is nested too deeply to read)")


@responses.activate
def test_a_streamed_event_nested_too_deeply_is_a_response_error_after_earlier_text() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    mock_events(f'data: {{"choices": [{{"delta": {{"content": "Hi"}}}}]}}\n\ndata: {deep}\n\n')
    received: List[str] = []
    with pytest.raises(errors.ResponseError, match="its JSON is nested too deeply") as info:
        for token in ChatGptt.create_completion("", HI):
            received.append(token)
    assert received == ["Hi"] and info.value.partial == "Hi"
