"""g4f_sync.Session reads the environment's proxies as requests does, once per
environment: the same settings as requests' own for every environment and URL tried, a
change to the environment seen at the next request, and a request that really goes
through the proxy the environment names."""

from __future__ import annotations

import socket
import threading
from typing import Dict, Iterator, List

import pytest
import requests

from g4f_sync.http import Session
from g4f_sync.http import session as session_module

PROXY_VARIABLES = ("http_proxy", "HTTPS_PROXY", "all_proxy", "no_proxy", "NO_PROXY", "ftp_proxy")
ENVIRONMENTS: List[Dict[str, str]] = [
    {},
    {"http_proxy": "http://proxy.test:3128"},
    {"HTTPS_PROXY": "http://user:secret@proxy.test:8080", "ftp_proxy": "http://ftp.test:21"},
    {"all_proxy": "socks5://proxy.test:1080", "no_proxy": "example.test,.internal"},
    {"http_proxy": "http://proxy.test:3128", "NO_PROXY": "127.0.0.1,10.0.0.0/8"},
    {"http_proxy": "http://proxy.test:3128", "no_proxy": "*"},
]
URLS = [
    "http://example.test/v1/chat/completions",
    "https://api.example.test/v1",
    "http://127.0.0.1:8080/api/gpt/?count=2",
    "http://10.1.2.3/x",
    "https://host.internal:8443/",
    "http://other.test/",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PROXY_VARIABLES, "HTTP_PROXY", "https_proxy", "ALL_PROXY", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=lambda e: ",".join(e) or "none")
def test_the_settings_equal_requests_own_for_every_url(
    monkeypatch: pytest.MonkeyPatch, environment: Dict[str, str]
) -> None:
    assert session_module.ENVIRONMENT_ONLY_PROXIES  # Linux: the cached path is the one tested
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    ours, theirs = Session(), requests.Session()
    for url in URLS:
        for proxies in ({}, {"no_proxy": "example.test"}, None):
            mine = ours.merge_environment_settings(url, _copy(proxies), True, None, None)
            reference = theirs.merge_environment_settings(url, _copy(proxies), True, None, None)
            assert mine == reference, (url, proxies)


def _copy(proxies: object) -> object:
    return dict(proxies) if isinstance(proxies, dict) else proxies


def test_a_change_to_the_environment_is_seen_at_the_next_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session = Session()
    url = "http://example.test/"

    def proxies() -> Dict[str, str]:
        return session.merge_environment_settings(url, {}, True, None, None)["proxies"]

    assert proxies() == {}
    monkeypatch.setenv("http_proxy", "http://one.test:1")
    assert proxies() == {"http": "http://one.test:1"}
    monkeypatch.setenv("http_proxy", "http://two.test:2")
    assert proxies() == {"http": "http://two.test:2"}
    monkeypatch.setenv("NO_PROXY", "example.test")
    assert proxies() == {}
    monkeypatch.setenv("REQUEST_METHOD", "GET")  # a CGI script: requests drops http_proxy
    monkeypatch.delenv("NO_PROXY")
    assert (
        proxies()
        == requests.Session().merge_environment_settings(url, {}, True, None, None)["proxies"]
    )


def test_trust_env_off_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", "http://proxy.test:3128")
    session = Session()
    session.trust_env = False
    assert (
        session.merge_environment_settings("http://a.test/", {}, True, None, None)["proxies"] == {}
    )


class RecordingProxy:
    """A loopback "proxy" that answers every request with a one-token Koala-style body
    and records the request line (absolute-form when sent to a proxy)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.lines: List[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    piece = conn.recv(65536)
                    if not piece:
                        break
                    data += piece
                self.lines.append(data.split(b"\r\n", 1)[0].decode())
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone does not)
        self.listener.close()
        self.thread.join(5)


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    running = RecordingProxy()
    yield running
    running.close()


def test_a_request_goes_through_the_proxy_the_environment_names(
    monkeypatch: pytest.MonkeyPatch, proxy: RecordingProxy
) -> None:
    monkeypatch.setenv("http_proxy", proxy.url)
    with Session(max_retries=0) as session:  # nothing listens on localhost:9: the proxy does
        assert session.get("http://localhost:9/api", timeout=5).text == "ok"
        monkeypatch.setenv("no_proxy", "localhost")
        with pytest.raises(requests.ConnectionError, match="refused"):  # now direct
            session.get("http://localhost:9/api", timeout=5)
    assert proxy.lines == ["GET http://localhost:9/api HTTP/1.1"]
