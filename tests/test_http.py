"""The HTTP layer: proxies, timeouts, retries, status mapping (request shapes via responses)."""

from __future__ import annotations

import logging
import re
import socket
import sys
import threading
import time
import traceback
from typing import List
from urllib.parse import urlencode

import pytest
import requests
import responses
import urllib3.exceptions
from support import FAST, HI
from tcp_state import Unanswered

from g4f_sync import Client, cli, errors
from g4f_sync.emulator import Emulator
from g4f_sync.http import (
    DEFAULT_TIMEOUT,
    Retry,
    Session,
    Timeout,
    Transport,
    excerpt,
    mapped_errors,
    parse_proxy,
    parse_retry_after,
    raise_for_status,
    redact_url,
)
from g4f_sync.http.config import SERVER_MESSAGE_LIMIT
from g4f_sync.Provider import Koala
from g4f_sync.Provider.registry import rebase_provider

URL = "http://api.test/endpoint"
URL_WITH_PASSWORD = "http://user:s3cr3t@api.test/x"
CLOUDFLARE_PAGE = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
    '<body><div id="cf-please-wait">Checking your browser</div></body></html>'
)


@pytest.mark.parametrize(
    "proxy",
    ["http://host:3128", "http://user:pw@host:3128", "https://proxy.example:8443", "http://h"],
)
def test_parse_proxy_maps_both_schemes(proxy: str) -> None:
    assert parse_proxy(proxy) == {"http": proxy, "https": proxy}


def test_parse_proxy_none_means_no_proxy() -> None:
    assert parse_proxy(None) is None


@pytest.mark.parametrize(
    ("proxy", "reason"),
    [
        ("ftp://host:21", "scheme must be one of"),
        ("host:3128", "scheme must be one of"),
        ("http://host:99999", "port is not a number"),
        ("http://host:abc", "port is not a number"),
        ("http://:3128", "no host name"),
        ("socks5://host", "needs a port"),
        ("", "must be a URL string"),
        (3128, "must be a URL string"),
    ],
)
def test_parse_proxy_rejects_malformed_urls(proxy: object, reason: str) -> None:
    with pytest.raises(errors.InvalidProxyError, match=reason) as info:
        parse_proxy(proxy)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)


def test_socks_proxy_without_pysocks_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "socks", None)  # makes `import socks` fail
    with pytest.raises(errors.MissingRequirementsError, match=r"pip install 'g4f_sync\[socks\]'"):
        parse_proxy("socks5://127.0.0.1:1080")


def test_session_applies_proxy_timeout_and_retries() -> None:
    session = Session(proxy="http://127.0.0.1:3128", timeout=5, max_retries=0)
    assert session.proxies == {"http": "http://127.0.0.1:3128", "https": "http://127.0.0.1:3128"}
    assert session.timeout == Timeout(5.0, 5.0)
    assert session.retry.total == 0
    assert session.verify is True


def test_timeout_coercion_and_defaults() -> None:
    assert Timeout.coerce(None) == DEFAULT_TIMEOUT == Timeout(10.0, 120.0)
    assert Timeout.coerce((1, 2)) == Timeout(1, 2)
    assert Timeout.coerce(3) == (3.0, 3.0)  # the pair requests takes
    assert Timeout.coerce((None, 5)) == Timeout(None, 5.0)  # None: no limit
    with pytest.raises(errors.InvalidRequestError, match="timeout must be a positive number"):
        Timeout.coerce(0)
    with pytest.raises(errors.InvalidRequestError, match="timeout must be a number"):
        Timeout.coerce("10")  # type: ignore[arg-type]


def test_retry_wait_doubles_with_jitter_and_honours_retry_after() -> None:
    retry = Retry()
    for attempt, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (4, 8.0), (10, 8.0)]:
        wait = retry.wait(attempt)
        assert ceiling / 2 <= wait <= ceiling
    assert retry.wait(0, retry_after=30) == 30
    with pytest.raises(errors.InvalidRequestError, match="max_retries must be"):
        Retry.coerce(-1)


def test_parse_retry_after_seconds_and_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 100))
    assert 95 <= parse_retry_after(date) <= 101  # type: ignore[operator]


def test_excerpt_is_one_short_line() -> None:
    assert excerpt("a\n  b\tc") == "a b c"
    assert len(excerpt("x" * 1000)) == 200


def _get(**kwargs: object) -> requests.Response:
    return requests.get(URL, stream=True)


@responses.activate
@pytest.mark.parametrize("status", [429, 402])
def test_rate_limit_statuses_raise_rate_limit_error_with_retry_after(status: int) -> None:
    responses.get(URL, status=status, body="slow down", headers={"Retry-After": "12"})
    with pytest.raises(
        errors.RateLimitError, match=rf"^rate limited \(HTTP {status}\).*retry after 12 s"
    ) as info:
        raise_for_status(_get())
    assert info.value.status_code == status
    assert info.value.retry_after == 12.0
    assert info.value.body == "slow down"


@responses.activate
def test_cloudflare_challenge_raises_cloudflare_error() -> None:
    responses.get(URL, status=403, body=CLOUDFLARE_PAGE, content_type="text/html")
    with pytest.raises(errors.CloudflareError, match="Cloudflare challenge") as info:
        raise_for_status(_get())
    assert info.value.status_code == 403


@responses.activate
def test_plain_403_is_a_status_error_with_excerpt() -> None:
    responses.get(URL, status=403, body="<p>Forbidden</p>\n<p>go away</p>")
    with pytest.raises(
        errors.ResponseStatusError,
        match=r"HTTP 403 Forbidden from GET http://api.test/endpoint: "
        r"<p>Forbidden</p> <p>go away</p>",
    ) as info:
        raise_for_status(_get())
    assert type(info.value) is errors.PermissionDeniedError  # a ResponseStatusError
    assert info.value.status_code == 403


@responses.activate
def test_500_body_is_cut_to_an_excerpt() -> None:
    responses.get(URL, status=500, body="boom " * 500)
    with pytest.raises(errors.ResponseStatusError, match="HTTP 500") as info:
        raise_for_status(_get())
    assert len(info.value.body) == 200


@responses.activate
def test_2xx_passes() -> None:
    responses.get(URL, status=204)
    raise_for_status(_get())


@responses.activate
def test_transport_retries_429_then_succeeds() -> None:
    responses.post(URL, status=429, headers={"Retry-After": "0"})
    responses.post(URL, status=200, body="ok")
    transport = Transport(max_retries=FAST)
    response = transport.post(URL, json={})
    assert response.status_code == 200
    assert len(responses.calls) == 2
    transport.close()


@responses.activate
def test_transport_gives_up_after_max_retries_and_says_how_many_attempts() -> None:
    for _ in range(3):
        responses.post(URL, status=503, body="unavailable")
    transport = Transport(max_retries=FAST)
    with pytest.raises(errors.ResponseStatusError, match=r"^HTTP 503.*\(after 3 attempts\)$"):
        transport.post(URL)
    assert len(responses.calls) == 3


@responses.activate
def test_transport_does_not_wait_for_retry_after_beyond_the_cap() -> None:
    responses.post(URL, status=429, headers={"Retry-After": "3600"})
    transport = Transport(max_retries=FAST)
    with pytest.raises(errors.RateLimitError) as info:
        transport.post(URL)
    assert info.value.retry_after == 3600
    assert len(responses.calls) == 1


@responses.activate
def test_transport_does_not_retry_client_errors() -> None:
    responses.post(URL, status=404, body="no")
    with pytest.raises(errors.ResponseStatusError, match="HTTP 404"):
        Transport(max_retries=FAST).post(URL)
    assert len(responses.calls) == 1


@responses.activate
def test_transport_retries_connection_errors_and_wraps_the_last_one() -> None:
    for _ in range(3):
        responses.post(URL, body=requests.ConnectionError("refused"))
    with pytest.raises(
        errors.ConnectionError, match=r"could not connect to api.test: refused \(after 3 attempts\)"
    ) as info:
        Transport(max_retries=FAST).post(URL)
    assert isinstance(info.value, ConnectionError)
    assert isinstance(info.value.__cause__, requests.ConnectionError)


@responses.activate
def test_transport_uses_the_session_defaults_unless_given() -> None:
    session = Session(timeout=(1, 2), max_retries=0)
    assert Transport(session=session).timeout == Timeout(1, 2)
    assert Transport(session=session).retry.total == 0
    assert Transport(session=session, timeout=7, max_retries=5).timeout == Timeout(7.0, 7.0)
    assert Transport(session=requests.Session()).timeout == DEFAULT_TIMEOUT


@responses.activate
def test_transport_sends_through_the_proxy() -> None:
    responses.get(URL, body="ok")
    transport = Transport(proxy="http://127.0.0.1:3128")
    transport.get(URL)
    assert responses.calls[0].request.req_kwargs["proxies"] == {
        "http": "http://127.0.0.1:3128",
        "https": "http://127.0.0.1:3128",
    }


@pytest.mark.parametrize(
    ("exc", "kind", "text"),
    [
        (requests.exceptions.ConnectTimeout("t"), errors.TimeoutError, "could not connect within"),
        (requests.exceptions.ReadTimeout("t"), errors.TimeoutError, "sent nothing within"),
        (requests.exceptions.ProxyError("p"), errors.ConnectionError, "the proxy refused"),
        (requests.exceptions.SSLError("s"), errors.ConnectionError, "TLS verification failed"),
        (requests.exceptions.InvalidURL("u"), errors.InvalidRequestError, "invalid URL"),
        (requests.exceptions.ChunkedEncodingError("c"), errors.ConnectionError, "request failed"),
    ],
)
def test_requests_exceptions_are_mapped_in_one_place(exc: Exception, kind: type, text: str) -> None:
    with pytest.raises(errors.G4FError) as info, mapped_errors("POST", URL_WITH_PASSWORD):
        raise exc
    assert type(info.value) is kind
    assert text in str(info.value)
    assert info.value.__cause__ is exc
    assert (info.value.method, info.value.url) == ("POST", "http://user:***@api.test/x")


@pytest.mark.parametrize(
    ("exc", "kind", "text"),
    [
        (urllib3.exceptions.ReadTimeoutError(None, "/", "t"), errors.TimeoutError, "went silent"),
        (socket.timeout("t"), errors.TimeoutError, "went silent mid-answer"),
        (urllib3.exceptions.ProtocolError("p"), errors.StreamInterruptedError, "was lost"),
        (ConnectionResetError(104, "reset"), errors.StreamInterruptedError, "was lost"),
    ],
)
def test_failures_while_reading_are_mapped_as_a_stream_cut_short(
    exc: Exception, kind: type, text: str
) -> None:
    with pytest.raises(errors.G4FError) as info, mapped_errors("GET", URL, reading=True):
        raise exc
    assert type(info.value) is kind
    assert text in str(info.value)


@pytest.mark.parametrize(
    ("exc", "reading", "text"),
    [
        (
            requests.exceptions.ConnectTimeout("t"),
            False,
            "could not connect within the connect timeout of 1.5 s",
        ),
        (
            requests.exceptions.ReadTimeout("t"),
            False,
            "the server sent nothing within the read timeout of 0.25 s",
        ),
        (
            socket.timeout("t"),
            True,
            "the server went silent mid-answer for longer than the read timeout of 0.25 s",
        ),
    ],
)
def test_a_timeout_names_the_seconds_that_ran_out(exc: Exception, reading: bool, text: str) -> None:
    with (
        pytest.raises(errors.TimeoutError) as info,
        mapped_errors("GET", URL, reading=reading, timeout=(1.5, 0.25)),
    ):
        raise exc
    assert info.value.message == text
    assert info.value.timeout == (0.25 if "read" in text else 1.5)


def test_a_refused_connection_says_so_without_urllib3s_internals() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(errors.ConnectionError) as info:
            Transport(max_retries=0).get(f"http://user:secret@127.0.0.1:{port}/x")
    assert str(info.value) == f"could not connect to 127.0.0.1:{port}: Connection refused"
    assert info.value.url == f"http://user:***@127.0.0.1:{port}/x"


def test_a_connect_timeout_says_so_without_urllib3s_internals() -> None:
    with Unanswered() as server:
        transport = Transport(timeout=(0.2, 5), max_retries=0)
        with pytest.raises(errors.TimeoutError) as info:
            transport.get(server.url + "/x")
    assert str(info.value) == "could not connect within the connect timeout of 0.2 s"
    assert (info.value.method, info.value.url) == ("GET", server.url + "/x")


# Bad input fails before any I/O, with a typed error


@pytest.mark.parametrize(
    ("timeout", "message"),
    [
        (float("nan"), "timeout must be a positive number of seconds or None, got nan"),
        (
            float("inf"),
            "timeout must be a positive number of seconds or None, got inf;"
            " use None to wait forever",
        ),
        ((-1, 5), r"the connect part of timeout must be .*, got -1 \(in \(-1, 5\)\)"),
        (("a", "b"), r"the connect part of timeout must be .*, got 'a'"),
        ((1, 0), r"the read part of timeout must be .*, got 0 \(in \(1, 0\)\)"),
        (Timeout(-1, 5), r"the connect part of timeout must be .*, got -1"),
        (True, "timeout must be a number, a \\(connect, read\\) pair or a Timeout, got True"),
        ([1, 2], "timeout must be a number, a \\(connect, read\\) pair or a Timeout"),
    ],
)
def test_a_bad_timeout_is_refused_before_any_request(timeout: object, message: str) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(Koala.api_endpoint, body="")
        with pytest.raises(errors.InvalidRequestError, match=message):
            Koala.create_completion("", HI, timeout=timeout)  # type: ignore[arg-type]
        with pytest.raises(errors.InvalidRequestError, match=message):
            Client(Koala, timeout=timeout)  # type: ignore[arg-type]
        with pytest.raises(errors.InvalidRequestError, match=message):
            Session(timeout=timeout)  # type: ignore[arg-type]
        assert len(mock.calls) == 0


@pytest.mark.parametrize(
    ("retry", "message"),
    [
        (Retry(total=-1), "Retry.total must be a non-negative integer, got -1"),
        (Retry(backoff=float("nan")), "Retry.backoff must be a non-negative number"),
        (Retry(retry_after_max=-1), "Retry.retry_after_max must be a non-negative number"),
        (1.5, "max_retries must be a non-negative integer or a Retry, got 1.5"),
    ],
)
def test_a_bad_retry_policy_is_refused_before_any_request(retry: object, message: str) -> None:
    with pytest.raises(errors.InvalidRequestError, match=message):
        Koala.create_completion("", HI, max_retries=retry)  # type: ignore[arg-type]


@pytest.mark.parametrize("session", ["abc", object(), requests.adapters.HTTPAdapter()])
def test_a_session_that_is_not_one_is_refused_before_any_request(session: object) -> None:
    with pytest.raises(errors.InvalidRequestError) as info:
        Koala.create_completion("", HI, session=session)  # type: ignore[arg-type]
    assert str(info.value) == (
        "session must be a requests.Session (for example g4f_sync.Session()),"
        f" got {type(session).__name__}"
    )


def test_a_proxy_with_an_invalid_host_is_refused_naming_the_proxy() -> None:
    with pytest.raises(errors.InvalidProxyError) as info:
        Koala.create_completion("", HI, proxy="http://ho st:3128")
    assert str(info.value) == "proxy 'http://ho st:3128': the host 'ho st' is not a valid host name"


# Secrets never appear in messages


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:s3cr3t@host:3128", "http://user:***@host:3128"),
        ("http://user:s3cr3t@host:99999/path?q=1", "http://user:***@host:99999/path?q=1"),
        ("htp://user:p@ss:w@rd@host", "htp://user:***@host"),
        ("http://user@host:3128", "http://user@host:3128"),  # no password
        ("http://host:3128", "http://host:3128"),
        ("host:3128", "host:3128"),
        ("socks5://:s3cr3t@host:1080", "socks5://:***@host:1080"),
    ],
)
def test_redact_url_masks_the_password_only(url: str, shown: str) -> None:
    assert redact_url(url) == shown


SECRET_PROXIES = [
    "http://user:s3cr3t@127.0.0.1:99999",  # a port out of range
    "htp://user:s3cr3t@127.0.0.1:3128",  # a scheme typo
    "http://user:s3cr3t@:3128",  # no host
    "http://user:s3cr3t@ho st:3128",  # an invalid host
    "socks5://user:s3cr3t@127.0.0.1:1080",  # SOCKS without PySocks
]


@pytest.mark.parametrize("proxy", SECRET_PROXIES)
def test_a_proxy_password_never_appears_in_an_error(
    proxy: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "socks", None)  # makes `import socks` fail
    for call in (
        lambda: Koala.create_completion("", HI, proxy=proxy),
        lambda: Client(Koala, proxy=proxy),
        lambda: Session(proxy=proxy),
    ):
        with pytest.raises(errors.G4FError) as info:
            call()
        shown = "".join(traceback.format_exception(info.type, info.value, info.tb))
        shown += str(info.value) + repr(info.value)
        assert "s3cr3t" not in shown
        assert "user:***@" in str(info.value)
    assert cli.main(["chat", "--proxy", proxy, "--provider", "Koala", "Hi"]) in (1, 2)
    err = capsys.readouterr().err
    assert "user:***@" in err and "s3cr3t" not in err


# A Session's settings apply to every request made through it


def test_a_session_timeout_applies_to_its_own_direct_requests(emu: Emulator) -> None:
    outcome: List[BaseException] = []
    session = Session(timeout=(5, 0.2))

    def post() -> None:
        try:
            session.post(f"{emu.url}/api/gpt/?fault=silent_head", json={"input": "Hi"})
        except BaseException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=post, daemon=True)
    caller.start()
    caller.join(10)  # the emulator would otherwise hold the request until it closes
    assert not caller.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], requests.exceptions.ReadTimeout)


def test_a_session_retries_its_own_direct_requests(emu: Emulator) -> None:
    url = f"{emu.url}/api/gpt/?fault=rate_limit&fault_count=1&retry_after=0"
    with Session(max_retries=1) as session:
        answer = session.post(url, json={"input": "Hi"})
    assert (answer.status_code, len(emu.requests)) == (200, 2)
    with Session(max_retries=0) as session:
        emu.koala = emu.koala  # restarts the fault count
        assert session.post(url, json={"input": "Hi"}).status_code == 429


# Logging, as libraries do it


RATE_LIMITED_ONCE = {"fault": "rate_limit", "fault_count": "1", "retry_after": "0"}


def test_requests_retries_and_closes_are_logged_at_debug_without_passwords(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    assert logging.getLogger("g4f_sync").handlers == []  # the application decides
    with caplog.at_level(logging.DEBUG, logger="g4f_sync"):
        base = emu.url.replace("http://", "http://user:s3cr3t@")
        koala = rebase_provider(Koala, base, query=RATE_LIMITED_ONCE)
        tokens = koala.create_completion("", HI, max_retries=Retry(1, backoff=0.001))
        assert "".join(tokens) == "Hi"
    lines = [(record.name, record.getMessage()) for record in caplog.records]
    url = f"{base.replace('s3cr3t', '***')}/api/gpt/?{urlencode(RATE_LIMITED_ONCE)}"
    assert lines == [
        ("g4f_sync.http", f"sending POST {url} (attempt 1)"),
        ("g4f_sync.http", lines[1][1]),
        ("g4f_sync.http", f"sending POST {url} (attempt 2)"),
        ("g4f_sync.http", "closed 1 response(s)"),
    ]
    assert re.fullmatch(
        rf"retrying POST {re.escape(url)} in 0\.00 s after HTTP 429 \(attempt 2 of 2\)",
        lines[1][1],
    )
    assert "s3cr3t" not in caplog.text


# Statuses map to openai-python's classes


def openai_error(message: str, kind: str, code: str, param: object = None) -> dict:
    return {"error": {"message": message, "type": kind, "code": code, "param": param}}


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (
            400,
            openai_error("bad n", "invalid_request_error", "invalid_value", "n"),
            errors.BadRequestError,
        ),
        (
            400,
            openai_error(
                "too long", "invalid_request_error", "context_length_exceeded", "messages"
            ),
            errors.ContextLengthExceededError,
        ),
        (
            401,
            openai_error("Incorrect API key", "invalid_request_error", "invalid_api_key"),
            errors.AuthenticationError,
        ),
        (
            403,
            openai_error("not for you", "permission_error", "forbidden"),
            errors.PermissionDeniedError,
        ),
        (
            404,
            openai_error(
                "The model `x` does not exist", "invalid_request_error", "model_not_found"
            ),
            errors.NotFoundError,
        ),
        (
            422,
            openai_error("unprocessable", "invalid_request_error", "bad"),
            errors.UnprocessableEntityError,
        ),
        (
            429,
            openai_error("slow down", "rate_limit_error", "rate_limit_exceeded"),
            errors.RateLimitError,
        ),
        (500, openai_error("boom", "server_error", "internal"), errors.InternalServerError),
        (503, openai_error("later", "server_error", "overloaded"), errors.InternalServerError),
        (418, openai_error("teapot", "whimsy", "teapot"), errors.ResponseStatusError),
    ],
)
def test_each_status_raises_its_class_with_the_servers_message_and_details(
    status: int, body: dict, kind: type
) -> None:
    responses.get(URL, status=status, json=body)
    with pytest.raises(errors.ResponseStatusError) as info:
        raise_for_status(_get())
    error = info.value
    assert type(error) is kind
    said = body["error"]
    assert (error.status_code, error.server_message, error.type, error.code, error.param) == (
        status,
        said["message"],
        said["type"],
        said["code"],
        said["param"],
    )
    assert said["message"] in str(error)


@responses.activate
def test_the_servers_message_keeps_its_line_breaks_and_the_error_reads_on_one_line() -> None:
    message = "upstream failed:\n\n  model group 'm' is down"
    responses.get(URL, status=503, json=openai_error(message, "server_error", "503"))
    with pytest.raises(errors.InternalServerError) as info:
        raise_for_status(_get())
    assert info.value.server_message == message
    assert str(info.value) == (
        f"HTTP 503 Service Unavailable from GET {URL}: upstream failed: model group 'm' is down"
    )


@responses.activate
def test_a_long_server_message_is_cut_at_its_limit() -> None:
    responses.get(URL, status=429, json={"error": {"message": "a\n" * 400}})
    with pytest.raises(errors.RateLimitError) as info:
        raise_for_status(_get())
    said = info.value.server_message
    assert len(said) == SERVER_MESSAGE_LIMIT == 500
    assert said == "a\n" * 249 + "a…"
    assert str(info.value).endswith(": " + "a " * 249 + "a…")


def test_a_bad_request_reads_like_the_server_said_it() -> None:
    with responses.RequestsMock() as mock:
        mock.post(URL, status=400, json=openai_error("bad n", "invalid_request_error", "x", "n"))
        with pytest.raises(errors.BadRequestError) as info:
            Transport(max_retries=0).post(URL)
    assert str(info.value) == f"HTTP 400 Bad Request from POST {URL}: bad n"


@responses.activate
def test_retry_after_ms_is_honoured_before_retry_after() -> None:
    responses.get(URL, status=429, headers={"retry-after-ms": "1500", "Retry-After": "9"})
    with pytest.raises(errors.RateLimitError) as info:
        raise_for_status(_get())
    assert info.value.retry_after == 1.5


@responses.activate
@pytest.mark.parametrize(
    ("status", "should_retry", "sent"),
    [
        (500, "false", 1),  # the server says a retry is pointless
        (400, "true", 2),  # the server says a retry may work
        (409, "", 2),  # retried as openai-python retries it
        (501, "", 2),  # every 5xx
        (404, "", 1),
    ],
)
def test_the_server_decides_retries_with_x_should_retry(
    status: int, should_retry: str, sent: int
) -> None:
    headers = {"x-should-retry": should_retry} if should_retry else {}
    responses.post(URL, status=status, headers=headers, body="{}")
    responses.post(URL, status=200, body="ok")
    transport = Transport(max_retries=FAST)
    try:
        transport.post(URL)
    except errors.ResponseStatusError:
        pass
    assert len(responses.calls) == sent
    transport.close()


def test_an_api_key_the_server_echoes_never_reaches_the_error() -> None:
    key = "sk-live-0123456789abcdef"
    with responses.RequestsMock() as mock:
        mock.post(URL, status=401, json=openai_error(f"Incorrect API key: {key}", "x", "y"))
        with pytest.raises(errors.AuthenticationError) as info:
            Transport(max_retries=0, secrets=[key]).post(URL)
    shown = str(info.value) + repr(info.value) + repr(vars(info.value)) + repr(info.value.args)
    assert key not in shown and "Incorrect API key: ***" in str(info.value)
