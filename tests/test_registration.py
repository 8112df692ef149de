"""Choosing a provider: registering your own (``g4f_sync.register``), the hint of
``ProviderNotFoundError`` run as written, model names in any case, and the emulator's
providers before it is started."""

from __future__ import annotations

import threading
from typing import Any, List

import pytest
from support import HI_THERE

from g4f_sync import ChatCompletion, Client, errors, register
from g4f_sync.emulator import Emulator, OpenAIOptions
from g4f_sync.Provider import (
    ChatGptt,
    Custom,
    Koala,
    Ollama,
    registered_providers,
    unregister,
)
from g4f_sync.Provider.registry import REGISTER_HINT


def ask(**options: Any) -> str:
    """``Client().chat.completions.create`` with no provider: the text of the answer."""
    answer = Client().chat.completions.create(HI_THERE, **options)
    return str(answer.choices[0].message.content)


def test_a_registered_provider_answers_calls_that_name_none(emu: Emulator) -> None:
    with pytest.raises(errors.ProviderNotFoundError):
        ask(model="")
    registration = register(emu.provider(Koala))
    try:
        assert ask(model="") == "Hi there"
        assert ChatCompletion.create("", HI_THERE) == "Hi there"
        assert "".join(ChatCompletion.create("", HI_THERE, stream=True)) == "Hi there"
    finally:
        registration.unregister()
    assert [r.path for r in emu.requests] == ["/api/gpt/"] * 3
    with pytest.raises(errors.ProviderNotFoundError):
        ask(model="")
    assert emu.request_count == 3


def test_a_with_block_gives_the_provider_and_undoes_the_registration(emu: Emulator) -> None:
    bound = emu.provider(Koala)
    with pytest.raises(KeyError), register(bound) as provider:
        assert provider is bound and registered_providers() == [bound]
        raise KeyError("the block failed")
    assert registered_providers() == []


def test_undoing_twice_is_harmless_and_the_registration_says_its_state(emu: Emulator) -> None:
    registration = register(emu.provider(Koala))
    assert (registration.active, repr(registration)) == (True, "<Registration of Koala (active)>")
    registration.unregister()
    registration.unregister()
    assert (registration.active, repr(registration)) == (False, "<Registration of Koala (undone)>")


def test_the_latest_registration_comes_first_and_undoing_it_restores_the_previous(
    emu: Emulator,
) -> None:
    first = emu.provider(Koala, tokens=["first"])
    second = emu.provider(Koala, tokens=["second"])
    with register(first):
        with register(second):
            assert registered_providers() == [second, first]
            assert ask(model="") == "second"
            assert Client("koala").provider is second  # by name too, in any case
        assert ask(model="") == "first"
        assert Client("KOALA").provider is first
    assert Client("koala").provider is Koala


def test_the_same_provider_registered_twice_stays_until_both_are_undone(emu: Emulator) -> None:
    bound = emu.provider(Koala)
    with register(bound):
        with register(bound):
            assert registered_providers() == [bound]  # listed once
        assert registered_providers() == [bound]
    assert registered_providers() == []


def test_auto_selection_takes_the_first_registered_provider_that_serves_the_model(
    emu: Emulator,
) -> None:
    with register(emu.provider(ChatGptt)), register(emu.provider(Koala)):
        assert Client().chat.completions.create(HI_THERE, "").provider == "Koala"
        answer = Client().chat.completions.create(HI_THERE, "GPT-4")  # Koala has no gpt-4
        assert (answer.provider, answer.model) == ("ChatGptt", "gpt-4")
        with pytest.raises(errors.ProviderNotFoundError) as info:
            ask(model="claude")
    assert info.value.considered == [
        ("Koala", "does not support model 'claude'"),
        ("ChatGptt", "does not support model 'claude'"),
        ("Koala", "not working"),
        ("ChatGptt", "not working"),
    ]


def test_a_registered_preset_with_a_base_url_and_key(emu: Emulator) -> None:
    """A preset is never chosen for you, unless you register it: then it is, for any
    model, and its key goes with every request."""
    emu.openai = OpenAIOptions(api_key="sk-registered")
    with register(Custom.rebased(emu.base_url, api_key="sk-registered")):
        assert ask(model="llama3.2") == "Hi there"
        assert ChatCompletion.create("llama3.2", HI_THERE) == "Hi there"
    assert [r.headers["Authorization"] for r in emu.requests] == ["Bearer sk-registered"] * 2
    assert [r.path for r in emu.requests] == ["/v1/chat/completions"] * 2


def test_the_not_found_hint_runs_as_written(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The message ends with code that, pasted as it is, registers Ollama; with Ollama's
    host (``OLLAMA_HOST``) being the emulator, the failed call then succeeds."""
    monkeypatch.setenv("OLLAMA_HOST", emu.url)
    with pytest.raises(errors.ProviderNotFoundError) as info:
        ChatCompletion.create("llama3.2", HI_THERE)
    code = str(info.value).rsplit(": ", 1)[1]
    assert code == REGISTER_HINT == "import g4f_sync; g4f_sync.register(g4f_sync.Provider.Ollama)"
    assert emu.requests == []
    exec(code, {})
    try:
        assert registered_providers() == [Ollama]
        assert ChatCompletion.create("llama3.2", HI_THERE) == "Hi there"
    finally:
        assert unregister(Ollama)
    assert [r.path for r in emu.requests] == ["/v1/chat/completions"]
    assert not unregister(Ollama)


def test_the_not_working_hint_runs_as_written() -> None:
    """``Emulator().start().provider(Koala)``, as the message writes it, is a working
    provider."""
    with pytest.raises(errors.ProviderNotWorkingError) as info:
        Client().chat.completions.create(HI_THERE, "", provider="Koala")
    code = str(info.value).split("e.g. ", 1)[1].split(" from ", 1)[0]
    assert code == "Emulator().start().provider(Koala)"
    started: List[Emulator] = []

    class Tracked(Emulator):
        def start(self) -> Emulator:
            started.append(self)
            return super().start()

    try:
        provider = eval(code, {"Emulator": Tracked, "Koala": Koala})
        answer = Client(provider).chat.completions.create(HI_THERE, "")
        assert answer.choices[0].message.content == "Hi there"
        assert [r.path for r in started[0].requests] == ["/api/gpt/"]
    finally:
        for emulator in started:
            emulator.close()


@pytest.mark.parametrize(
    ("given", "error", "message"),
    [
        (
            Koala,
            errors.ProviderNotWorkingError,
            "cannot register Koala: it is marked as not working (working = False), so no call"
            " would choose it. Register a working subclass pointed at a live host, e.g."
            " Emulator().start().provider(Koala) from g4f_sync.emulator",
        ),
        (
            "Nope",
            errors.ProviderNotFoundError,
            "no provider named 'Nope'; known: ",
        ),
        (
            42,
            errors.ProviderNotFoundError,
            "42 is not a provider: give a provider class such as g4f_sync.Provider.Koala",
        ),
    ],
)
def test_what_cannot_be_registered(given: Any, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        register(given)
    assert str(info.value).startswith(message)
    assert registered_providers() == []


def test_a_name_registers_the_provider_it_names() -> None:
    with register("ollama") as provider:
        assert provider is Ollama and registered_providers() == [Ollama]


def test_registering_from_many_threads_loses_nothing(emu: Emulator) -> None:
    providers = [emu.provider(Koala, tokens=[str(n)]) for n in range(16)]
    all_registered = threading.Barrier(len(providers))
    seen: List[List[Any]] = []

    def work(provider: Any) -> None:
        with register(provider):
            all_registered.wait(10)
            seen.append(registered_providers())
            all_registered.wait(10)

    threads = [threading.Thread(target=work, args=(p,)) for p in providers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(seen) == len(providers)
    for snapshot in seen:
        assert sorted(map(id, snapshot)) == sorted(map(id, providers))
    assert registered_providers() == []


# Model names


def test_model_names_match_in_any_case() -> None:
    assert Koala.get_model("GPT-4o-MINI") == "gpt-4o-mini"
    assert ChatGptt.get_model("Gpt-4") == "gpt-4"


def test_a_name_that_differs_only_in_case_from_two_models_is_refused() -> None:
    class Cased(Koala):
        models = ["Model-A", "model-a"]
        default_model = "Model-A"

    assert (Cased.get_model("model-a"), Cased.get_model("Model-A")) == ("model-a", "Model-A")
    with pytest.raises(errors.ModelNotSupportedError) as info:
        Cased.get_model("MODEL-A")
    assert str(info.value) == (
        "Cased: model 'MODEL-A' differs only in case from Model-A, model-a: give one of them"
        " exactly"
    )


def test_an_alias_matches_in_any_case() -> None:
    class Aliased(Koala):
        model_aliases = {"Mini": "gpt-4o-mini"}

    assert Aliased.get_model("MINI") == "gpt-4o-mini"


def test_the_answer_names_the_model_as_the_provider_spells_it(emu: Emulator) -> None:
    answer = Client(emu.provider(Koala)).chat.completions.create(HI_THERE, "GPT-4O-Mini")
    assert answer.model == "gpt-4o-mini"
    assert emu.requests[0].json()["model"] == "gpt-4o-mini"


# The emulator's providers


def test_a_provider_of_an_emulator_not_started_says_to_start_it() -> None:
    emulator = Emulator()
    with pytest.raises(errors.EmulatorNotStartedError) as info:
        emulator.provider(Koala)
    assert isinstance(info.value, (errors.G4FError, RuntimeError))
    assert str(info.value) == (
        "the Emulator is not started: use it in a with block (with Emulator() as emulator:"
        " ...) or start it (emulator = Emulator().start())"
    )
    for use in (lambda: emulator.url, lambda: emulator.requests, lambda: emulator.request_count):
        with pytest.raises(errors.EmulatorNotStartedError):
            use()
    with emulator:
        assert emulator.provider(Koala).working


def test_a_rebased_preset_takes_a_key_as_a_string_only() -> None:
    with pytest.raises(errors.InvalidRequestError) as info:
        Custom.rebased("http://127.0.0.1:9/v1", api_key=123)  # type: ignore[arg-type]
    assert str(info.value) == "Custom: api_key must be a string, got int"
    keyed = Custom.rebased("http://127.0.0.1:9/v1", api_key="sk-secret")
    assert (keyed.api_key, keyed.base_url, Custom.api_key) == (
        "sk-secret",
        "http://127.0.0.1:9/v1",
        None,
    )
    assert "sk-secret" not in repr(keyed)
