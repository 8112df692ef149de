"""The ChatGptt service (chatgptt.me, now gone): a WordPress page running the AI Power chat
plugin, as docs/protocols.md describes it.

Routes:

- ``GET /``: the page. Its chat element carries ``data-nonce``, ``data-post-id``,
  ``data-url`` and ``data-bot-id``: a ``.wpaicg-chat-shortcode`` element (``variant`` =
  ``shortcode``) or the site-wide widget's ``.wpaicg-chatbox`` (``widget``, attributes in
  another order), with values double-quoted, single-quoted or unquoted where possible
  (``quoting``). A search form carrying another ``data-nonce`` comes first, as on real
  sites. A visitor without a ``PHPSESSID`` cookie the emulator issued gets one. The page is
  gzip-compressed when the client accepts it and ``compress`` is on.
- ``POST /wp-admin/admin-ajax.php``: the plugin's handler, checking as WordPress does: the
  action (``wpaicg_chat_shortcode_message`` or ``wpaicg_chatbox_message`` in a
  form-urlencoded body, else 400 with body ``0``), then ``_wpnonce`` (the page's current
  nonce, else 403 ``The link you followed has expired.``, plus
  ``</p><p><a href="<Referer>">Please try again.</a>`` when a Referer came), then the form:
  a non-empty ``message`` (else the plugin's own error JSON), digits in ``post_id`` and
  ``bot_id``, and a ``wpaicg_chat_history`` that decodes to a JSON list once every
  backslash is stripped, as the plugin does (stricter than the plugin, which takes anything
  else as an empty history: the answer is ``{"status": "error", "msg": "emulator: ..."}``).

The reply is ``tokens``, or by default the words of the last ``User:`` line of ``message``
(the whole message when it is a single one). How it is sent (``answer``):

- ``json``: ``{"status": "success", "msg": "Something went wrong", "greeting_message": ...,
  "data": <reply>, "log": false}`` as PHP encodes it (``\\/`` and ``\\uXXXX`` escapes).
- ``sse``: ``text/event-stream`` of OpenAI chunks (``choices[0].delta.content``): a role
  chunk, one chunk per word, a ``finish_reason: "stop"`` chunk, ``data: [DONE]``.
- ``sse_legacy``: the same with ``choices[0].text``.
- ``sse_words``: per-word ``event: message`` events, then
  ``data: {"choices":[{"finish_reason":"stop"}]}`` and the end of the body (no ``[DONE]``).

Every option can be set per request by a query parameter of the same name on the page URL
or the ajax URL (``/?variant=widget``, ``/wp-admin/admin-ajax.php?answer=sse&delay=0.01``);
it overrides the options for that request. ``tokens`` is comma-separated (``none``: echo),
``bot_id`` ``none`` leaves the attribute out, booleans are ``true``/``false``/``1``/``0``,
``fault=none`` clears the fault. An unknown parameter or a bad value gets a 400 with a JSON
body naming it.

Faults (``fault``) on the page:

- ``cloudflare_page``: 403 with a Cloudflare challenge.
- ``no_tokens``: a "Page not found" page without any chat element or ``data-nonce``.
- ``empty_page``: 200 with an empty body.
- ``huge_page``: 200, a valid page padded to :data:`HUGE_PAGE` bytes (before compression).
- ``stale_nonce``: a page cache serves visitors without an emulator-issued ``PHPSESSID``
  cookie a copy with an expired nonce; a visitor with one (a second fetch on the same
  session) gets the live page.

Faults on the ajax handler:

- ``nonce_rejected``: every nonce is refused (403 as above).
- ``plugin_removed``: 400 with body ``0`` (plugin 2.3 and later have no such handler).
- ``cloudflare_post``: 403 with a Cloudflare challenge.
- ``rate_limit``: 429, ``Retry-After: <retry_after>``.
- ``error_json``: ``{"status": "error", "msg": ERROR_MESSAGE}``.
- ``token_limit``, ``ip_banned``, ``message_flagged``: the flag object
  (``{"msg": ..., "tokenLimitReached": true}``, ``ipBanned``, ``messageFlagged``), as the
  JSON answer, or in the ``sse*`` modes as the only event of a ``text/event-stream``.
- ``limited``: ``limit_after`` per-word events, then ``data: [LIMITED]`` and the end.
- ``html_instead_of_json``: 200 ``text/html``, a WordPress page.

Each answer's head is sent at once; ``delay`` seconds pass between two events.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import html
import json
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Mapping, Optional, Sequence, get_args

from .exchange import Exchange, Route
from .faults import send_cloudflare_challenge, send_rate_limit
from .options import ServiceOptions, option
from .query import optional, parse_bool
from .service import Service, echo_tokens

__all__ = ["FAULTS", "ChatGpttOptions", "ChatGpttService"]

Answer = Literal["json", "sse", "sse_legacy", "sse_words"]
Variant = Literal["shortcode", "widget"]
Quoting = Literal["double", "single", "unquoted"]
Fault = Literal[
    "cloudflare_page",
    "no_tokens",
    "empty_page",
    "huge_page",
    "stale_nonce",
    "nonce_rejected",
    "plugin_removed",
    "cloudflare_post",
    "rate_limit",
    "error_json",
    "token_limit",
    "ip_banned",
    "message_flagged",
    "limited",
    "html_instead_of_json",
]
FAULTS: tuple[str, ...] = get_args(Fault)

PAGE_PATH = "/"
AJAX_PATH = "/wp-admin/admin-ajax.php"
ACTIONS = ("wpaicg_chat_shortcode_message", "wpaicg_chatbox_message")
EXPIRED = "The link you followed has expired."
ERROR_MESSAGE = "Incorrect API key provided. You can find your API key in your account."
HUGE_PAGE = 8 * 1024 * 1024
"""Bytes of the ``huge_page`` page: twice the 4 MiB the provider reads."""
FLAG_ANSWERS: dict[str, dict[str, Any]] = {
    "token_limit": {"msg": "You have reached your token limit.", "tokenLimitReached": True},
    "ip_banned": {"msg": "You are not allowed to access this feature.", "ipBanned": True},
    "message_flagged": {
        "msg": "Your message has been flagged as potentially harmful or inappropriate.",
        "messageFlagged": True,
    },
}
SESSION_COOKIE = "PHPSESSID"
_JSON_TYPE = "application/json; charset=UTF-8"
_HTML_TYPE = "text/html; charset=UTF-8"


@dataclass
class ChatGpttOptions(ServiceOptions):
    """What the ChatGptt page and handler send and how they fail; see the module docstring.

    ``tokens`` is the reply (None: echo the words of the last user line of ``message``);
    ``delay`` is the pause between two events of a streamed answer. Raises ``ValueError``
    on a value out of range. Fields may be changed between requests.
    """

    FAULTS: ClassVar[tuple[str, ...]] = FAULTS

    answer: Answer = option(
        "json", parse=str, choices=get_args(Answer), help="how the reply is sent (default: json)"
    )
    variant: Variant = option(
        "shortcode", parse=str, choices=get_args(Variant), help="the chat element (shortcode)"
    )
    quoting: Quoting = option(
        "double", parse=str, choices=get_args(Quoting), help="its attributes' quotes (double)"
    )
    limit_after: int = option(2, parse=int, help="words before [LIMITED] (default: 2)")
    """Words sent before ``data: [LIMITED]`` (the ``limited`` fault)."""
    post_id: str = option("106", parse=str, help="the page's data-post-id (default: 106)")
    bot_id: Optional[str] = option(
        "0", parse=optional(str), help="the page's data-bot-id, none: left out (default: 0)"
    )
    compress: bool = option(True, parse=parse_bool, help="gzip the page when the client accepts it")

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field with a bad value."""
        for name, kind in (("answer", Answer), ("variant", Variant), ("quoting", Quoting)):
            if getattr(self, name) not in get_args(kind):
                allowed = ", ".join(get_args(kind))
                raise ValueError(f"{name}: must be one of {allowed}, not {getattr(self, name)!r}")
        super().validate()
        if not (isinstance(self.limit_after, int) and self.limit_after >= 0):
            raise ValueError(
                f"limit_after: must be a non-negative integer, not {self.limit_after!r}"
            )
        if not (isinstance(self.post_id, str) and self.post_id.isdigit()):
            raise ValueError(f"post_id: must be a string of digits, not {self.post_id!r}")
        if self.bot_id is not None and not (isinstance(self.bot_id, str) and self.bot_id.isdigit()):
            raise ValueError(f"bot_id: must be a string of digits or None, not {self.bot_id!r}")
        if not isinstance(self.compress, bool):
            raise ValueError("compress: must be a bool")


def last_user_text(message: str) -> str:
    """The content of the last ``User:`` line of a ``format_prompt`` conversation; the whole
    ``message`` when it is a single message."""
    if message.endswith("\nAssistant:"):
        for line in reversed(message.splitlines()):
            if line.startswith("User: "):
                return line[len("User: ") :]
    return message


def _attribute(name: str, value: str, quoting: str) -> str:
    if quoting == "unquoted" and value and not re.search(r"[\s\"'=<>`&]", value):
        return f"{name}={value}"
    if quoting == "single":
        return f"{name}='{html.escape(value)}'"
    return f'{name}="{html.escape(value)}"'


def render_page(options: ChatGpttOptions, nonce: str, decoy_nonce: str, url: str) -> str:
    """The WordPress page with the chat element ``options`` describe."""
    shortcode = options.variant == "shortcode"
    attributes: list[tuple[str, str]] = [
        ("class", "wpaicg-chat-shortcode" if shortcode else "wpaicg-chatbox wpaicg-chat-widget"),
        ("data-user-bg-color", "#444654"),
        ("data-color", "#fff"),
        ("data-fontsize", "13"),
        ("data-use-avatar", "0"),
        ("data-you", "You"),
        ("data-ai-name", "AI"),
        ("data-nonce", nonce),
        ("data-post-id", options.post_id),
        ("data-url", url),
        *([("data-bot-id", options.bot_id)] if options.bot_id is not None else []),
        ("data-width", "100%"),
        ("data-height", "445px"),
        ("data-footer", "false"),
        ("data-type", "shortcode" if shortcode else "widget"),
    ]
    if not shortcode:  # the widget's template puts the tokens first
        attributes.sort(key=lambda item: item[0] not in ("data-nonce", "data-post-id"))
    separator = "\n     " if options.quoting == "double" else " "
    element = separator.join(_attribute(n, v, options.quoting) for n, v in attributes)
    decoy = _attribute("data-nonce", decoy_nonce, options.quoting)
    chat = f'<div {element}>\n<div class="wpaicg-chat-shortcode-content"></div>\n</div>'
    if not shortcode:
        chat = (
            '<div class="wpaicg_chat_widget"><div class="wpaicg_chat_widget_content">'
            f"{chat}</div></div>"
        )
    return PAGE_TEMPLATE.format(decoy=decoy, chat=chat)


PAGE_TEMPLATE = """<!DOCTYPE html>
<html lang="en-US"><head><meta charset="UTF-8">
<title>ChatGPT Online &#8211; Free AI Chat (emulated)</title>
<script>var wpaicgParams = {{"ajax_url":"\\/wp-admin\\/admin-ajax.php"}};</script>
</head><body class="page-template-default page">
<header><form class="wpaicg-search-form" {decoy} method="get"><input name="s"></form></header>
<main id="content"><article><h1>ChatGPT Online</h1>
{chat}
</article></main></body></html>
"""
NOT_FOUND_PAGE = """<!DOCTYPE html>
<html lang="en-US"><head><meta charset="UTF-8">
<title>Page not found &#8211; ChatGPT Online (emulated)</title></head>
<body class="error404"><main><h1>Oops! That page can&rsquo;t be found.</h1></main></body></html>
"""
HTML_INSTEAD_OF_JSON = """<!DOCTYPE html>
<html lang="en-US"><head><meta charset="UTF-8"><title>ChatGPT Online (emulated)</title></head>
<body class="home"><main><p>A caching plugin served the home page here.</p></main></body></html>
"""


def _form_problem(form: Mapping[str, str]) -> Optional[str]:
    """What the emulator refuses in a form whose action and nonce passed; None when fine."""
    if not form.get("post_id", "").isdigit():
        return f"post_id must be digits, got {form.get('post_id')!r}"
    if not form.get("bot_id", "0").isdigit():
        return f"bot_id must be digits, got {form.get('bot_id')!r}"
    raw = form.get("wpaicg_chat_history", "[]")
    try:
        history = json.loads(raw.replace("\\", ""))
    except ValueError:
        history = None
    if not isinstance(history, list):
        return f"wpaicg_chat_history is not a JSON list once backslashes are stripped: {raw[:80]!r}"
    return None


def _php_json(value: Any) -> str:
    """JSON as PHP's ``json_encode`` writes it: ``\\uXXXX`` for non-ASCII, ``\\/`` for ``/``."""
    return json.dumps(value, separators=(",", ":")).replace("/", "\\/")


Event = tuple[bytes, bool]
"""One event of a streamed answer, and whether it carries a token (for ``tokens_sent``)."""


def _event(value: Any, *, named: bool = False, token: bool = False) -> Event:
    data = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    head = "event: message\n" if named else ""
    return f"{head}data: {data}\n\n".encode(), token


def _word_event(word: str) -> Event:
    """A plugin-made per-word event."""
    return _event({"choices": [{"delta": {"content": word}}]}, named=True, token=True)


class ChatGpttService(Service[ChatGpttOptions]):
    """ChatGptt's routes; reads :attr:`options` afresh for every request."""

    options_class = ChatGpttOptions

    def __init__(
        self, options: Optional[ChatGpttOptions] = None, gate: Optional[threading.Semaphore] = None
    ) -> None:
        super().__init__(options, gate)
        self.nonce = secrets.token_hex(5)
        """The nonce the live page carries and the handler accepts."""
        self._session_key = secrets.token_bytes(16)

    def routes(self) -> Mapping[tuple[str, str], Route]:
        """``(method, path) -> route`` for the server."""
        return {("GET", PAGE_PATH): self.page, ("POST", AJAX_PATH): self.ajax}

    def _session(self, exchange: Exchange) -> Optional[str]:
        """The visitor's emulator-issued ``PHPSESSID``, if it sent one."""
        cookies = exchange.request.headers.get("Cookie", "")
        for pair in cookies.split(";"):
            name, _, value = pair.strip().partition("=")
            if name == SESSION_COOKIE and self._issued(value):
                return value
        return None

    def _new_session(self) -> str:
        """A fresh ``PHPSESSID``: 10 random hex digits and 16 of their HMAC, so that telling
        an issued one needs no record of it (a set of them would grow with every visitor)."""
        salt = secrets.token_hex(5)
        return salt + self._session_mac(salt)

    def _issued(self, session: str) -> bool:
        """Whether :meth:`_new_session` made ``session``."""
        salt, mac = session[:10], session[10:]
        return len(session) == 26 and mac == self._session_mac(salt)

    def _session_mac(self, salt: str) -> str:
        return hmac.new(self._session_key, salt.encode(), hashlib.sha256).hexdigest()[:16]

    def page(self, exchange: Exchange) -> None:
        """``GET /``."""
        options = self.options_for(exchange)
        if options is None:
            return
        fault = options.fault
        if fault == "cloudflare_page":
            return send_cloudflare_challenge(exchange, "chatgptt.me")
        headers: dict[str, str] = {}
        session = self._session(exchange)
        if session is None:
            headers["Set-Cookie"] = f"{SESSION_COOKIE}={self._new_session()}; path=/; HttpOnly"
        if fault == "empty_page":
            body = ""
        elif fault == "no_tokens":
            body = NOT_FOUND_PAGE
        else:
            cached = fault == "stale_nonce" and session is None
            nonce = secrets.token_hex(5) if cached else self.nonce
            host = exchange.request.headers.get("Host", "chatgptt.me")
            body = render_page(options, nonce, secrets.token_hex(5), f"http://{host}/")
            if fault == "huge_page":
                padding = "<!-- padding -->\n" * (HUGE_PAGE // 17 + 1)
                body = body.replace("<main", padding + "<main", 1)
        data = body.encode()
        accepted = exchange.request.headers.get("Accept-Encoding", "")
        if options.compress and "gzip" in accepted.lower():
            data = gzip.compress(data, compresslevel=6)
            headers.update({"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
        exchange.respond(200, data, content_type=_HTML_TYPE, headers=headers)

    def ajax(self, exchange: Exchange) -> None:
        """``POST /wp-admin/admin-ajax.php``."""
        options = self.options_for(exchange)
        if options is None:
            return
        fault = options.fault
        if fault == "cloudflare_post":
            return send_cloudflare_challenge(exchange, "chatgptt.me")
        if fault == "rate_limit":
            return send_rate_limit(exchange, options.retry_after)
        form = exchange.request.form()  # as PHP's $_POST: the last value of a name wins
        if fault == "plugin_removed" or form.get("action") not in ACTIONS:
            return exchange.respond(400, "0", content_type=_HTML_TYPE)
        if fault == "nonce_rejected" or form.get("_wpnonce") != self.nonce:
            referer = exchange.request.headers.get("Referer")
            again = (
                f'</p><p><a href="{html.escape(referer)}">Please try again.</a>' if referer else ""
            )
            return exchange.respond(403, EXPIRED + again, content_type=_HTML_TYPE)
        problem = _form_problem(form)
        if problem is not None:
            return _send_json(exchange, {"status": "error", "msg": f"emulator: {problem}"})
        message = form.get("message", "")
        if not message.strip():
            return _send_json(exchange, {"status": "error", "msg": "Please enter a message."})
        if fault == "error_json":
            return _send_json(exchange, {"status": "error", "msg": ERROR_MESSAGE})
        if fault == "html_instead_of_json":
            return exchange.respond(200, HTML_INSTEAD_OF_JSON, content_type=_HTML_TYPE)
        words = list(options.tokens) if options.tokens is not None else None
        if words is None:
            words = echo_tokens(last_user_text(message))
        if fault in FLAG_ANSWERS:
            if options.answer == "json":
                return _send_json(exchange, FLAG_ANSWERS[fault])
            return _stream(exchange, options, [_event(FLAG_ANSWERS[fault])])
        if fault == "limited":
            events = [_word_event(word) for word in words[: options.limit_after]]
            return _stream(exchange, options, [*events, _event("[LIMITED]")])
        if options.answer == "json":
            exchange.request.tokens_sent = len(words)
            return _send_json(exchange, _success("".join(words)))
        _stream(exchange, options, _answer_events(options.answer, words))


def _stream(exchange: Exchange, options: ChatGpttOptions, events: Sequence[Event]) -> None:
    """Send ``events`` as ``text/event-stream``, ``delay`` apart, each written at once."""
    headers = {"Content-Type": "text/event-stream; charset=UTF-8", "Cache-Control": "no-cache"}
    exchange.start(200, headers, framing=options.framing)
    request = exchange.request

    def piece(index: int) -> bytes:
        data, token = events[index]
        if token:
            request.tokens_sent += 1  # before the write: a reader never sees more
        return data

    exchange.pace(len(events), piece, options.delay)
    exchange.end()


def _answer_events(answer: str, words: Sequence[str]) -> list[Event]:
    """The events of a streamed reply in one of the ``sse*`` modes."""
    if answer == "sse_words":
        stop = _event({"choices": [{"finish_reason": "stop"}]}, named=True)
        return [*(_word_event(word) for word in words), stop]
    base = {"id": "chatcmpl-emulated", "object": "chat.completion.chunk", "model": "gpt-4o"}

    def chunk(choice: dict[str, Any], token: bool = False) -> Event:
        return _event({**base, "choices": [{"index": 0, **choice}]}, token=token)

    if answer == "sse_legacy":
        events = [chunk({"text": w, "finish_reason": None}, True) for w in words]
        last = chunk({"text": "", "finish_reason": "stop"})
    else:
        role = chunk({"delta": {"role": "assistant"}, "finish_reason": None})
        events = [role] + [
            chunk({"delta": {"content": w}, "finish_reason": None}, True) for w in words
        ]
        last = chunk({"delta": {}, "finish_reason": "stop"})
    return [*events, last, _event("[DONE]")]


def _success(reply: str) -> dict[str, Any]:
    return {
        "status": "success",
        "msg": "Something went wrong",
        "greeting_message": "Hello! How can I help you today?",
        "data": reply,
        "log": False,
    }


def _send_json(exchange: Exchange, value: Any) -> None:
    exchange.respond(200, _php_json(value), content_type=_JSON_TYPE)
