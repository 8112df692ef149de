"""ChatGptt (chatgptt.me): a WordPress site running the AI Power chat plugin.

Protocol (docs/protocols.md), on one session so cookies, proxy, timeout and retries are shared:

1. ``GET url``: the chat element (``.wpaicg-chat-shortcode``, else ``.wpaicg-chatbox``, else
   any element with ``data-nonce``) carries ``data-nonce``, ``data-post-id`` and
   ``data-bot-id``. The page is read up to :data:`PAGE_LIMIT` bytes.
2. ``POST api_endpoint``, form-urlencoded: the nonce, the post id, ``format_prompt(messages)``
   as ``message``, an empty history (``message`` already carries the conversation).
3. The answer, by ``Content-Type``: ``text/event-stream`` of OpenAI chunks, streamed as it
   arrives; anything else is read as JSON (``{"status": "success", "data": ...}``).

A 403 "The link you followed has expired." means the (cached) page carried an expired
nonce: the page is fetched once more. A 400 with body ``0`` means the plugin's chat handler
is gone (plugin 2.3 and later).

BeautifulSoup (``html.parser``, or lxml when installed) is imported on first use only.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Dict, Iterator, Mapping, NamedTuple, Sequence
from urllib.parse import urlsplit

import requests
from urllib3.util.request import ACCEPT_ENCODING

from ..chat.chunks import read_chunk
from ..errors import (
    ContentFlaggedError,
    IPBannedError,
    MissingPageTokensError,
    MissingRequirementsError,
    NonceRejectedError,
    ProviderNotWorkingError,
    RateLimitError,
    RequestRejectedError,
    ResponseError,
    ResponseStatusError,
)
from ..http import CLOUDFLARE_MARKERS, Transport, excerpt, read_json, read_text
from ..json_decode import decode_json
from ..sse import iter_events
from ..typing import Messages
from .base import GeneratorProvider, ProviderModelMixin
from .helper import format_prompt, get_random_hex

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag

__all__ = [
    "PAGE_LIMIT",
    "ChatGptt",
    "PageTokens",
    "chunk_text",
    "describe_page",
    "encode_history",
    "extract_tokens",
    "raise_for_refusal",
]

PAGE_LIMIT = 4 * 1024 * 1024
"""Most bytes of the page read (4 MiB; real pages are well under 1 MiB). A larger page
raises :class:`~g4f_sync.errors.ResponseError`."""
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/131.0.0.0 Safari/537.36"
)
PAGE_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ANSWER_ACCEPT = "application/json, text/event-stream"
ACTION = "wpaicg_chat_shortcode_message"
CHAT_CLASSES = ("wpaicg-chat-shortcode", "wpaicg-chatbox")
EXPIRED_NONCE = "The link you followed has expired."
CLOUDFLARE_TITLE = "Just a moment..."


class PageTokens(NamedTuple):
    """What the chat element of the page hands to the ajax request."""

    nonce: str
    post_id: str
    bot_id: str = "0"


def extract_tokens(html: str) -> PageTokens:
    """The tokens of the page's chat element.

    The element is the first ``.wpaicg-chat-shortcode``, else ``.wpaicg-chatbox``, carrying
    ``data-nonce``; else the first element carrying ``data-nonce``. Quoting, attribute order,
    case and whitespace do not matter; values are stripped. ``bot_id`` is ``"0"`` when the
    element has no ``data-bot-id``. Raises
    :class:`~g4f_sync.errors.MissingPageTokensError` naming the missing (or empty)
    attribute and saying what the page was, and
    :class:`~g4f_sync.errors.MissingRequirementsError` without beautifulsoup4.
    """
    soup = _parse(html) if "<" in html else None
    element = _find_chat_element(soup) if soup is not None else None
    if element is None:
        raise MissingPageTokensError(
            "page token data-nonce not found: the page has no chat element (.wpaicg-chat-"
            f"shortcode, .wpaicg-chatbox or [data-nonce]); {describe_page(html, soup)}",
            attribute="data-nonce",
        )
    values = {}
    for attribute in ("data-nonce", "data-post-id"):
        value = _attribute(element, attribute)
        if not value:
            state = "is empty" if element.has_attr(attribute) else "not found"
            raise MissingPageTokensError(
                f"page token {attribute} {state} on the chat element"
                f" {_describe_element(element)}; {describe_page(html, soup)}",
                attribute=attribute,
            )
        values[attribute] = value
    return PageTokens(
        values["data-nonce"], values["data-post-id"], _attribute(element, "data-bot-id") or "0"
    )


def describe_page(html: str, soup: BeautifulSoup | None = None) -> str:
    """What a page is, for an error message: empty, a Cloudflare challenge, or its title."""
    if not html.strip():
        return "the page was empty"
    title_tag = soup.title if soup is not None else None
    title = " ".join(title_tag.get_text().split()) if title_tag is not None else ""
    if title == CLOUDFLARE_TITLE or any(marker in html for marker in CLOUDFLARE_MARKERS):
        return "the page was a Cloudflare challenge, not the site (try another proxy)"
    if title:
        return f"the page's title was {excerpt(title, 100)!r}"
    return f"the page began with {excerpt(html, 100)!r}"


def _parse(html: str) -> BeautifulSoup:
    try:
        from bs4 import BeautifulSoup
        from bs4.builder import ParserRejectedMarkup, builder_registry
    except ImportError:
        raise MissingRequirementsError(
            "ChatGptt reads its page with BeautifulSoup: pip install beautifulsoup4"
        ) from None
    features = "lxml" if builder_registry.lookup("lxml") is not None else "html.parser"
    try:
        return BeautifulSoup(html, features)
    except ParserRejectedMarkup as exc:
        raise MissingPageTokensError(
            f"page token data-nonce not found: the page cannot be parsed ({exc});"
            f" {describe_page(html)}",
            attribute="data-nonce",
        ) from exc


def _find_chat_element(soup: BeautifulSoup) -> Tag | None:
    chat_elements = [element for name in CHAT_CLASSES for element in soup.find_all(class_=name)]
    for element in chat_elements:
        if element.has_attr("data-nonce"):
            return element
    return soup.find(attrs={"data-nonce": True}) or next(iter(chat_elements), None)


def _attribute(element: Tag, name: str) -> str:
    value = element.get(name)
    if isinstance(value, list):  # a multi-valued attribute under a parser's rules
        value = " ".join(value)
    return (value or "").strip()


def _describe_element(element: Tag) -> str:
    classes = _attribute(element, "class")
    return f"<{element.name} class={classes!r}>" if classes else f"<{element.name}>"


_NEWLINES = re.compile(r"\r\n|\r|\n")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_LOOKALIKES = {
    **{code: " " for code in range(0x20)},
    ord('"'): "\u201d",  # RIGHT DOUBLE QUOTATION MARK
    ord("\\"): "\uff3c",  # FULLWIDTH REVERSE SOLIDUS
}


def encode_history(turns: Sequence[str]) -> str:
    """``turns`` as a JSON list that contains no backslash.

    The plugin strips every backslash from ``wpaicg_chat_history`` before decoding it, so
    no JSON escape may be needed: ``"`` becomes ``”``, ``\\`` becomes ``＼``, line breaks
    become U+2028, other control characters spaces, lone surrogates U+FFFD.
    """
    safe = [
        _SURROGATES.sub("\ufffd", _NEWLINES.sub("\u2028", turn)).translate(_LOOKALIKES)
        for turn in turns
    ]
    return json.dumps(safe, ensure_ascii=False, separators=(",", ":"))


def raise_for_refusal(answer: Mapping[str, Any], status_code: int) -> None:
    """Raise what a flag or error in an answer object stands for; return when there is none.

    ``tokenLimitReached`` -> RateLimitError, ``ipBanned`` -> IPBannedError,
    ``messageFlagged`` -> ContentFlaggedError, ``status: error`` or an ``error`` object ->
    RequestRejectedError; each carries the site's message.
    """
    message = _site_message(answer)
    if answer.get("tokenLimitReached"):
        raise RateLimitError(
            f"the site's token limit is reached: {message}",
            status_code=status_code,
            body=_json_excerpt(answer),
        )
    if answer.get("ipBanned"):
        raise IPBannedError(f"the site banned this IP address: {message}", site_message=message)
    if answer.get("messageFlagged"):
        raise ContentFlaggedError(
            f"the site's moderation flagged the message: {message}", site_message=message
        )
    if answer.get("status") == "error" or answer.get("error"):
        raise RequestRejectedError(
            f"the site answered with an error: {message}", site_message=message
        )


def _json_excerpt(value: Any) -> str:
    """``value`` as JSON, cut to one short line for an error message."""
    return excerpt(json.dumps(value, ensure_ascii=False))


def _site_message(answer: Mapping[str, Any]) -> str:
    error = answer.get("error")
    for candidate in (
        answer.get("msg"),
        error.get("message") if isinstance(error, dict) else error,
    ):
        if isinstance(candidate, str) and candidate:
            return candidate
    return _json_excerpt(answer)


def chunk_text(chunk: Mapping[str, Any]) -> str:
    """The text an OpenAI chunk adds to choice 0 (``delta.content``, or a legacy
    ``text``), read by the shared reader :func:`g4f_sync.chat.read_chunk`; ``""`` for a
    chunk without text (a role or ``finish_reason`` chunk)."""
    for choice in read_chunk(chunk, "ChatGptt").choices:
        if choice.index == 0:
            return choice.delta.content or ""
    return ""


class ChatGptt(GeneratorProvider, ProviderModelMixin):
    """chatgptt.me (the public service is gone: ``working = False``).

    The model is checked but not sent: the site's chat bot decides the engine.
    """

    url = "https://chatgptt.me"
    api_endpoint = "https://chatgptt.me/wp-admin/admin-ajax.php"
    working = False
    supports_stream = True
    supports_system_message = True
    supports_message_history = True
    default_model = "gpt-4o"
    models = ["gpt-4", "gpt-4o", "gpt-4o-mini"]
    model_aliases = {
        "gpt-4-0613": "gpt-4",
        "gpt-4o-2024-08-06": "gpt-4o",
        "gpt-4o-mini-2024-07-18": "gpt-4o-mini",
    }

    @classmethod
    def build_headers(cls, accept: str) -> Dict[str, str]:
        """The reference's Chrome ``User-Agent``, with ``Origin`` derived from ``url`` and
        ``Referer`` the page the nonce came from (the reference sent ``<url>/chat``)."""
        site = urlsplit(cls.url)
        return {
            "User-Agent": USER_AGENT,
            "Accept": accept,
            "Accept-Encoding": ACCEPT_ENCODING,
            "Origin": f"{site.scheme}://{site.netloc}",
            "Referer": cls.url,
        }

    @classmethod
    def fetch_tokens(cls, transport: Transport) -> PageTokens:
        """``GET url`` and read the chat element's tokens from it."""
        response = transport.get(cls.url, headers=cls.build_headers(PAGE_ACCEPT))
        return extract_tokens(read_text(response, PAGE_LIMIT))

    @classmethod
    def build_form(cls, messages: Messages, tokens: PageTokens) -> Dict[str, str]:
        """The ajax form, fields in the reference's order."""
        return {
            "_wpnonce": tokens.nonce,
            "post_id": tokens.post_id,
            "url": cls.url,
            "action": ACTION,
            "message": format_prompt(messages),
            "bot_id": tokens.bot_id,
            "chatbot_identity": "shortcode",
            "wpaicg_chat_client_id": get_random_hex(10),
            "wpaicg_chat_history": encode_history([]),
        }

    @classmethod
    def send_message(
        cls, transport: Transport, messages: Messages, *, fresh_page: bool = False
    ) -> requests.Response:
        """Fetch the page's tokens and post the form with them.

        Raises :class:`~g4f_sync.errors.NonceRejectedError` for the site's 403 "expired"
        answer and :class:`~g4f_sync.errors.ProviderNotWorkingError` for its 400 ``0``.
        """
        tokens = cls.fetch_tokens(transport)
        try:
            return transport.post(
                cls.api_endpoint,
                data=cls.build_form(messages, tokens),
                headers=cls.build_headers(ANSWER_ACCEPT),
            )
        except ResponseStatusError as error:
            if error.status_code == 403 and EXPIRED_NONCE in error.body:
                again = "of a freshly fetched page too" if fresh_page else "as expired"
                raise NonceRejectedError(
                    f"the site rejected the nonce {again} (HTTP 403 {EXPIRED_NONCE!r})",
                    status_code=error.status_code,
                    body=error.body,
                ) from error
            if error.status_code == 400 and error.body.strip() == "0":
                raise ProviderNotWorkingError(
                    f"{cls.api_endpoint} answered HTTP 400 with body '0': the site no longer"
                    " runs the AI Power plugin's chat handler (removed in plugin 2.3 and later)"
                ) from error
            raise

    @classmethod
    def create_generator(
        cls, model: str, messages: Messages, transport: Transport, **kwargs: Any
    ) -> Iterator[str]:
        try:
            response = cls.send_message(transport, messages)
        except NonceRejectedError:
            # Nonces live 12 to 24 hours and pages are cached, so the page may have carried
            # an expired one: fetch it once more. A second refusal is final.
            response = cls.send_message(transport, messages, fresh_page=True)
        content_type = response.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() == "text/event-stream":
            yield from cls.read_events(response)
        else:
            yield cls.read_reply(read_json(response), response.status_code)

    @classmethod
    def read_reply(cls, answer: Any, status_code: int) -> str:
        """The ``data`` of a JSON answer with ``status: success``; raises for the others."""
        if not isinstance(answer, dict):
            raise ResponseError(f"expected a JSON object, got {_json_excerpt(answer)}")
        raise_for_refusal(answer, status_code)
        if answer.get("status") != "success" or not isinstance(answer.get("data"), str):
            raise ResponseError(
                f"expected status 'success' and a string 'data', got {_json_excerpt(answer)}"
            )
        return answer["data"]

    @classmethod
    def read_events(cls, response: requests.Response) -> Iterator[str]:
        """Yield each chunk's text as it arrives; end at ``[DONE]`` or at the end of the
        stream; raise at ``[LIMITED]`` (after the text that came) and for flag objects."""
        for event in iter_events(response):
            data = event.data.strip()
            if event.event != "message" or not data:
                continue
            if data == "[DONE]":
                return
            if data == "[LIMITED]":
                raise RateLimitError(
                    "the site limited the request (data: [LIMITED]) and cut the answer short",
                    status_code=response.status_code,
                    body=data,
                )
            try:
                chunk = decode_json(data)
            except ValueError as exc:
                raise ResponseError(f"cannot read the event {excerpt(data)!r}: {exc}") from None
            if not isinstance(chunk, dict):
                raise ResponseError(f"cannot read the event {excerpt(data)!r}: not an object")
            raise_for_refusal(chunk, response.status_code)
            text = chunk_text(chunk)
            if text:
                yield text
