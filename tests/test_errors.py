"""The exception tree: builtin bases, attributes, pickling."""

from __future__ import annotations

import pickle

import pytest
from support import ROOT

from g4f_sync import errors

SAMPLES = [
    errors.InvalidMessagesError("messages is empty"),
    errors.InvalidProxyError("bad proxy"),
    errors.ModelNotSupportedError("no such model"),
    errors.ProviderNotFoundError("none", considered=[("Koala", "not working")]),
    errors.ProviderNotWorkingError("off", marked=True),
    errors.RetryProviderError([("Koala", errors.TimeoutError("silent"))]),
    errors.CancelledError("interrupted by the caller"),
    errors.MissingRequirementsError("pip install x"),
    errors.ConnectionError("refused"),
    errors.StreamInterruptedError("lost"),
    errors.TimeoutError("silent"),
    errors.ResponseStatusError("HTTP 500", status_code=500, body="boom"),
    errors.RateLimitError("slow down", status_code=429, body="", retry_after=3.0),
    errors.CloudflareError("challenge", status_code=403, body="<title>Just a moment...</title>"),
    errors.ResponseError("unreadable"),
    errors.NonceRejectedError("nonce rejected", status_code=403, body="expired"),
    errors.MissingPageTokensError("no data-nonce", attribute="data-nonce"),
    errors.RequestRejectedError("refused", site_message="banned word"),
    errors.IPBannedError("banned", site_message="ip"),
    errors.ContentFlaggedError("flagged", site_message="flag"),
]


def test_every_error_is_a_g4f_error() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.G4FError), name


@pytest.mark.parametrize(
    ("kind", "builtin"),
    [
        (errors.InvalidRequestError, ValueError),
        (errors.ModelNotSupportedError, ValueError),
        (errors.ConnectionError, ConnectionError),
        (errors.StreamInterruptedError, ConnectionError),
        (errors.TimeoutError, TimeoutError),
        (errors.MissingRequirementsError, ImportError),
        (errors.MissingPageTokensError, RuntimeError),
    ],
)
def test_builtin_bases_keep_old_except_clauses_working(kind: type, builtin: type) -> None:
    assert issubclass(kind, builtin)


def test_status_error_attributes() -> None:
    error = errors.RateLimitError("slow", retry_after=2.5)
    assert (error.status_code, error.retry_after, error.body, error.partial) == (429, 2.5, "", "")


@pytest.mark.parametrize("error", SAMPLES, ids=lambda e: type(e).__name__)
def test_errors_survive_pickling_with_their_attributes(error: errors.G4FError) -> None:
    error.partial = "received so far"
    error.provider, error.attempts = "Koala", 3
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert repr(copy.__dict__) == repr(error.__dict__)  # nested errors compare by their text
    assert copy.partial == "received so far"


def test_the_text_is_built_from_the_attributes_and_never_rewritten() -> None:
    error = errors.ResponseStatusError(
        status_code=500,
        reason="Internal Server Error",
        body="boom",
        method="POST",
        url="http://h/x",
    )
    assert str(error) == "HTTP 500 Internal Server Error from POST http://h/x: boom"
    error.provider, error.attempts = "Koala", 3
    assert str(error) == (
        "Koala: HTTP 500 Internal Server Error from POST http://h/x: boom (after 3 attempts)"
    )
    assert (
        error.describe()
        == "HTTP 500 Internal Server Error from POST http://h/x: boom (after 3 attempts)"
    )
    assert error.args == ("HTTP 500 Internal Server Error from POST http://h/x: boom",)
    assert repr(error).startswith("ResponseStatusError('Koala: HTTP 500")


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (
            errors.RateLimitError(status_code=429, retry_after=2, method="GET", url="http://h/"),
            "rate limited (HTTP 429) by GET http://h/; retry after 2 s",
        ),
        (errors.RateLimitError(status_code=402), "rate limited (HTTP 402) by the server"),
        (
            errors.CloudflareError(status_code=403, method="POST", url="http://h/"),
            "POST http://h/ answered with a Cloudflare challenge (HTTP 403): the site blocks"
            " scripted clients from this address; try another proxy",
        ),
        (errors.ResponseStatusError(status_code=502), "HTTP 502 from the server: (empty body)"),
        (errors.RateLimitError("the site's token limit is reached: x", status_code=200), None),
    ],
)
def test_status_errors_say_what_they_carry(error: errors.G4FError, text: str) -> None:
    assert str(error) == (text or error.message)


def test_the_servers_message_is_kept_as_written_and_shown_on_one_line() -> None:
    said = "litellm.RateLimitError: mock\n\nLiteLLM: no fallback."
    for error in (
        errors.RateLimitError(status_code=429, server_message=said),
        errors.InternalServerError(status_code=500, server_message=said),
    ):
        assert error.server_message == said
        assert str(error).endswith(": litellm.RateLimitError: mock LiteLLM: no fallback.")


def test_a_timeout_carries_the_seconds_that_ran_out() -> None:
    error = errors.TimeoutError("the server sent nothing within the read timeout of 2 s", timeout=2)
    assert (error.timeout, str(error)) == (
        2,
        "the server sent nothing within the read timeout of 2 s",
    )
    assert errors.TimeoutError("silent").timeout is None


def test_a_retry_provider_error_names_each_provider_with_its_own_error() -> None:
    timeout = errors.TimeoutError("the server sent nothing within the read timeout")
    timeout.provider, timeout.attempts = "Koala", 2
    error = errors.RetryProviderError([("Koala", timeout), ("Custom", KeyError("x"))])
    assert str(error) == (
        "RetryProvider: all 2 providers failed before answering: Koala: TimeoutError: the"
        " server sent nothing within the read timeout (after 2 attempts) | Custom: KeyError: 'x'"
    )
    assert error.errors == [("Koala", timeout), ("Custom", error.errors[1][1])]


def test_the_readme_draws_the_same_tree_as_the_module() -> None:
    drawn = errors.__doc__.split("::\n\n", 1)[1].split("\n\n", 1)[0].replace("``", "")
    readme = (ROOT / "README.rst").read_text(encoding="utf-8")
    assert drawn in readme
    assert all(f" {name} " in f" {drawn} ".replace("\n", " ") for name in errors.__all__)
