"""RetryProvider: fail over before the first token only, and say what each provider did."""

from __future__ import annotations

from typing import List

import pytest
from support import HI_THERE, MakeEmulator

from g4f_sync import ChatCompletion, Client, RetryProvider, errors
from g4f_sync.emulator import Emulator, KoalaOptions
from g4f_sync.Provider import ChatGptt, Koala
from g4f_sync.Provider.retry import RetryStream


@pytest.fixture
def emu(make_emulator: MakeEmulator) -> Emulator:
    """Koala answers "Hello, world" in three tokens."""
    return make_emulator(koala=KoalaOptions(tokens=["Hello", ", ", "world"]))


def paths(emu: Emulator) -> List[str]:
    return [f"{r.method} {r.path}" for r in emu.requests]


def test_fails_over_to_the_next_provider_before_the_first_token(emu: Emulator) -> None:
    blocked = emu.provider(Koala, fault="cloudflare")
    retry = RetryProvider([blocked, emu.provider(ChatGptt)], shuffle=False)
    resp = Client(retry).chat.completions.create(HI_THERE, "")
    assert (resp.provider, resp.model) == ("ChatGptt", "gpt-4o")
    assert resp.choices[0].message.content == "Hi there"
    assert paths(emu) == ["POST /api/gpt/", "GET /", "POST /wp-admin/admin-ajax.php"]


def test_stream_says_which_provider_answers(emu: Emulator) -> None:
    retry = RetryProvider([emu.provider(Koala, fault="server_error"), emu.provider(Koala)], False)
    with retry.create_completion("", HI_THERE, max_retries=0) as stream:
        assert isinstance(stream, RetryStream) and stream.provider is None
        assert next(stream) == "Hello"
        assert stream.provider is retry.providers[1]
        assert list(stream) == [", ", "world"]


def test_every_failure_is_listed_with_its_own_error(emu: Emulator) -> None:
    retry = RetryProvider(
        [
            emu.provider(Koala, fault="rate_limit", retry_after="120"),
            Koala,  # not working: passed over without a request
            emu.provider(ChatGptt, fault="plugin_removed"),
        ],
        shuffle=False,
    )
    with pytest.raises(errors.RetryProviderError) as info:
        Client(retry).chat.completions.create(HI_THERE, "")
    error = info.value
    assert [(name, type(e)) for name, e in error.errors] == [
        ("Koala", errors.RateLimitError),
        ("Koala", errors.ProviderNotWorkingError),
        ("ChatGptt", errors.ProviderNotWorkingError),
    ]
    message = str(error)
    assert "\n" not in message
    assert message.startswith("RetryProvider: all 3 providers failed before answering: ")
    parts = message.split(": ", 2)[2].split(" | ")
    assert parts[0].startswith(f"Koala: RateLimitError: rate limited (HTTP 429) by POST {emu.url}")
    assert error.errors[0][1].retry_after == 120
    assert parts[1].startswith(
        "Koala: ProviderNotWorkingError: Koala is marked as not working (working = False)"
    )
    assert (
        parts[2].startswith("ChatGptt: ProviderNotWorkingError: ")
        and "answered HTTP 400" in parts[2]
    )
    assert error.partial == ""


def test_a_stream_that_dies_mid_way_is_not_restarted_elsewhere(emu: Emulator) -> None:
    dropping = emu.provider(Koala, fault="drop", drop_after=2)
    retry = RetryProvider([dropping, emu.provider(ChatGptt)], shuffle=False)
    received: List[str] = []
    with pytest.raises(
        errors.StreamInterruptedError, match=r"^Koala: the connection was lost"
    ) as info:
        for token in retry.create_completion("", HI_THERE):
            received.append(token)
    assert received == ["Hello", ", "]
    assert info.value.partial == "Hello, "
    assert paths(emu) == ["POST /api/gpt/"]  # ChatGptt was never asked


def test_an_empty_answer_moves_on(emu: Emulator) -> None:
    retry = RetryProvider([emu.provider(Koala, fault="empty"), emu.provider(ChatGptt)], False)
    assert ChatCompletion.create("", HI_THERE, provider=retry) == "Hi there"
    with pytest.raises(errors.RetryProviderError) as info:
        ChatCompletion.create(
            "", HI_THERE, provider=RetryProvider([emu.provider(Koala, tokens="")])
        )
    assert str(info.value) == (
        "RetryProvider: the only provider failed before answering:"
        " Koala: ResponseError: the answer was empty"
    )


def test_ignore_working_tries_providers_marked_not_working(emu: Emulator) -> None:
    broken = type("Koala", (emu.provider(Koala),), {"working": False})
    retry = RetryProvider([broken], shuffle=False)
    with pytest.raises(errors.RetryProviderError, match="Koala: ProviderNotWorkingError: "):
        Client(retry).chat.completions.create(HI_THERE, "")
    assert emu.requests == []
    resp = Client(retry).chat.completions.create(HI_THERE, "", ignore_working=True)
    assert resp.choices[0].message.content == "Hello, world"


def test_shuffle_reorders_the_providers_per_call(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("g4f_sync.Provider.retry.random.shuffle", lambda items: items.reverse())
    providers = [emu.provider(Koala), emu.provider(ChatGptt)]

    def answering(retry: RetryProvider) -> str:
        return Client(retry).chat.completions.create(HI_THERE, "").provider

    assert answering(RetryProvider(providers)) == "ChatGptt"
    assert answering(RetryProvider(providers, False)) == "Koala"


def test_providers_may_be_given_by_name() -> None:
    retry = RetryProvider(["koala", ChatGptt])
    assert retry.providers == [Koala, ChatGptt]
    assert repr(retry) == "RetryProvider([Koala, ChatGptt], shuffle=True)"


@pytest.mark.parametrize(
    ("providers", "message"),
    [
        ([], "RetryProvider needs at least one provider"),
        (["Nope"], "no provider named 'Nope'; known: "),
        ([42], "42 is not a provider: give a provider class such as g4f_sync.Provider.Koala"),
    ],
)
def test_bad_provider_lists_are_refused(providers: list, message: str) -> None:
    with pytest.raises(errors.ProviderNotFoundError, match=message):
        RetryProvider(providers)


def test_bad_messages_are_refused_before_any_provider_runs(emu: Emulator) -> None:
    retry = RetryProvider([emu.provider(Koala)])
    with pytest.raises(errors.InvalidMessagesError, match="messages is empty"):
        retry.create_completion("", [])
    assert emu.requests == []


def test_closing_before_the_first_token_sends_nothing(emu: Emulator) -> None:
    stream = RetryProvider([emu.provider(Koala)]).create_completion("", HI_THERE)
    stream.close()
    assert list(stream) == []
    assert emu.requests == []
