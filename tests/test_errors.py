"""The exception tree: builtin bases, attributes, pickling."""

from __future__ import annotations

import pickle

import pytest

from g4f_sync import errors

SAMPLES = [
    errors.InvalidMessagesError("messages is empty"),
    errors.InvalidProxyError("bad proxy"),
    errors.ModelNotSupportedError("no such model"),
    errors.ProviderNotFoundError("none"),
    errors.ProviderNotWorkingError("off"),
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
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.__dict__ == error.__dict__
    assert copy.partial == "received so far"
