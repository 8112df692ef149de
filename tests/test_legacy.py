"""g4f's legacy API: g4f_sync.ChatCompletion.create returns strings."""

from __future__ import annotations

import pytest
from support import HI_THERE, MakeEmulator

import g4f_sync
import g4f_sync.Provider
from g4f_sync import ChatCompletion, errors
from g4f_sync.emulator import Emulator, KoalaOptions
from g4f_sync.Provider import ChatGptt, Koala, TokenStream


@pytest.fixture
def emu(make_emulator: MakeEmulator) -> Emulator:
    """Koala answers "Hello, world" in three tokens."""
    return make_emulator(koala=KoalaOptions(tokens=["Hello", ", ", "world"]))


def test_returns_the_answer_as_a_string(emu: Emulator) -> None:
    assert ChatCompletion.create("", HI_THERE, provider=emu.provider(Koala)) == "Hello, world"


def test_stream_returns_a_closable_iterator_of_strings(emu: Emulator) -> None:
    stream = ChatCompletion.create(
        "gpt-4o-mini", HI_THERE, provider=emu.provider(Koala), stream=True
    )
    assert isinstance(stream, TokenStream)
    with stream:
        assert list(stream) == ["Hello", ", ", "world"]


def test_kwargs_reach_the_provider(emu: Emulator) -> None:
    text = ChatCompletion.create("", HI_THERE, emu.provider(ChatGptt), timeout=5, max_retries=0)
    assert text == "Hi there"


def test_no_provider_picks_the_first_working_one_for_the_model(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        g4f_sync.Provider, "__providers__", [emu.provider(Koala), emu.provider(ChatGptt)]
    )
    assert ChatCompletion.create("", HI_THERE) == "Hello, world"
    assert ChatCompletion.create("gpt-4", HI_THERE) == "Hi there"
    assert ChatCompletion.create("gpt-4", HI_THERE, provider="chatgptt") == "Hi there"


def test_not_working_provider_raises_unless_ignored(emu: Emulator) -> None:
    broken = type("Koala", (emu.provider(Koala),), {"working": False})
    with pytest.raises(errors.ProviderNotWorkingError, match="Pass ignore_working=True"):
        ChatCompletion.create("", HI_THERE, provider=broken)
    assert emu.requests == []
    assert (
        ChatCompletion.create("", HI_THERE, provider=broken, ignore_working=True) == "Hello, world"
    )


def test_seed_provider_by_name_is_not_working() -> None:
    with pytest.raises(errors.ProviderNotWorkingError, match=r"^Koala is marked as not working"):
        ChatCompletion.create("", HI_THERE, provider="Koala")


def test_error_keeps_the_partial_answer(emu: Emulator) -> None:
    dropping = emu.provider(Koala, fault="drop", drop_after=2)
    with pytest.raises(
        errors.StreamInterruptedError, match=r"^Koala: the connection was lost"
    ) as info:
        ChatCompletion.create("", HI_THERE, provider=dropping)
    assert info.value.partial == "Hello, "


def test_unsupported_model_is_refused_before_any_request(emu: Emulator) -> None:
    with pytest.raises(errors.ModelNotSupportedError, match="Koala does not support model 'x'"):
        ChatCompletion.create("x", HI_THERE, provider=emu.provider(Koala))
    assert emu.requests == []


def test_it_is_the_top_level_name() -> None:
    assert g4f_sync.ChatCompletion is ChatCompletion
    assert g4f_sync.Client.__module__ == "g4f_sync.client"
