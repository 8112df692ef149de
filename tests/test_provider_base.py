"""Provider base: input validation before I/O, models, params, format_prompt."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
import responses
from support import HI

from g4f_sync import errors
from g4f_sync.http import Transport
from g4f_sync.Provider import Koala, ProviderUtils, __providers__
from g4f_sync.Provider.base import GeneratorProvider, ProviderModelMixin, validate_messages
from g4f_sync.Provider.helper import format_prompt, get_random_hex, get_random_string


@pytest.mark.parametrize(
    ("messages", "reason"),
    [
        ("Hi", "messages must be a list of {'role', 'content'} dicts, got str"),
        ({"role": "user", "content": "Hi"}, "messages must be a list"),
        ([], "messages is empty"),
        (["Hi"], r"messages\[0\] must be a dict with 'role' and 'content', got str"),
        ([{"content": "Hi"}], r"messages\[0\] has no 'role'"),
        ([{"role": "user"}], r"messages\[0\] has no 'content'"),
        (
            [*HI, {"role": "tool", "content": "x"}],
            r"messages\[1\]: role 'tool' is not one of system, user, assistant",
        ),
        (
            [*HI, {"role": "user", "content": None}],
            r"messages\[1\]: content must be a string, got NoneType",
        ),
        (
            [{"role": "user", "content": ["a"]}],
            r"messages\[0\]: content must be a string, got list",
        ),
    ],
)
def test_bad_messages_fail_before_any_io(messages: Any, reason: str) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(Koala.api_endpoint, body='data: "x"\n\n')
        with pytest.raises(errors.InvalidMessagesError, match=reason) as info:
            Koala.create_completion("", messages)
        assert len(mock.calls) == 0
    assert isinstance(info.value, ValueError)


def test_valid_messages_pass() -> None:
    validate_messages([{"role": r, "content": ""} for r in ("system", "user", "assistant")])


def test_unsupported_model_fails_before_io_naming_provider_and_models() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(Koala.api_endpoint, body="")
        with pytest.raises(errors.ModelNotSupportedError) as info:
            Koala.create_completion("gpt-9", HI)
        assert len(mock.calls) == 0
    assert str(info.value) == "Koala does not support model 'gpt-9'; it supports: gpt-4o-mini"
    assert isinstance(info.value, ValueError)


def test_malformed_proxy_and_timeout_fail_before_io() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(Koala.api_endpoint, body="")
        with pytest.raises(errors.InvalidProxyError, match="scheme must be one of"):
            Koala.create_completion("", HI, proxy="localhost:3128")
        with pytest.raises(errors.InvalidRequestError, match="timeout must be a positive number"):
            Koala.create_completion("", HI, timeout=-1)
        assert len(mock.calls) == 0


class Models(GeneratorProvider, ProviderModelMixin):
    default_model = "a"
    models = ["a", "b"]
    model_aliases = {"alias": "b"}

    @classmethod
    def create_generator(
        cls, model: str, messages: Any, transport: Transport, **kwargs: Any
    ) -> Iterator[str]:
        yield model


def test_get_model_default_alias_and_listing() -> None:
    assert Models.get_model("") == "a"
    assert Models.get_model(None) == "a"
    assert Models.get_model("b") == "b"
    assert Models.get_model("alias") == "b"
    with pytest.raises(
        errors.ModelNotSupportedError,
        match="Models does not support model 'c'; it supports: a, b, alias",
    ):
        Models.get_model("c")
    with pytest.raises(errors.ModelNotSupportedError, match="model must be a string, got 4"):
        Models.get_model(4)  # type: ignore[arg-type]


def test_create_completion_resolves_the_model_and_streams() -> None:
    assert list(Models.create_completion("alias", HI)) == ["b"]
    assert list(Models.create_completion("", HI, stream=False)) == ["a"]


class Failing(GeneratorProvider):
    @staticmethod
    def error() -> Exception:
        return errors.ResponseError("Failing: broken")

    @classmethod
    def create_generator(
        cls, model: str, messages: Any, transport: Transport, **kwargs: Any
    ) -> Iterator[str]:
        yield "one "
        yield "two"
        raise cls.error()


def test_tokens_before_an_error_are_yielded_and_kept_on_the_error() -> None:
    stream = Failing.create_completion("", HI)
    assert next(stream) == "one "
    assert next(stream) == "two"
    with pytest.raises(errors.ResponseError, match="broken") as info:
        next(stream)
    assert info.value.partial == "one two"


def test_non_streaming_error_carries_what_was_received() -> None:
    with pytest.raises(errors.ResponseError) as info:
        list(Failing.create_completion("", HI, stream=False))
    assert info.value.partial == "one two"


def test_params_describe_the_call() -> None:
    assert Koala.params.startswith("g4f_sync.Provider.Koala supports: (")
    assert "proxy: str = None" in Koala.params


def test_registry_lists_koala() -> None:
    assert Koala in __providers__
    assert ProviderUtils.convert["Koala"] is Koala


def test_format_prompt_single_message_is_its_content() -> None:
    assert format_prompt(HI) == "Hi"


def test_format_prompt_conversation() -> None:
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Say hello world"},
    ]
    assert format_prompt(messages) == (
        "System: You are terse.\nUser: Hi\nAssistant: Hello!\nUser: Say hello world\nAssistant:"
    )


def test_random_ids() -> None:
    visitor = get_random_string(20)
    assert len(visitor) == 20 and visitor.isalnum() and visitor == visitor.lower()
    client_id = get_random_hex(10)
    assert len(client_id) == 10 and int(client_id, 16) >= 0


def test_rebase_provider_keeps_paths_under_the_base_and_adds_the_query() -> None:
    from g4f_sync.Provider.registry import rebase_provider

    mirror = rebase_provider(Koala, "http://127.0.0.1:8080/proxy/", query={"count": "3"})
    assert mirror.__name__ == "Koala" and issubclass(mirror, Koala) and mirror.working
    assert mirror.api_endpoint == "http://127.0.0.1:8080/proxy/api/gpt/?count=3"
    assert mirror.url == "http://127.0.0.1:8080/proxy/chat?count=3"
    assert Koala.url == "https://koala.sh/chat"
    with pytest.raises(errors.InvalidRequestError) as info:
        rebase_provider(Koala, "ftp://x")
    assert str(info.value) == "base URL 'ftp://x' must be http(s)://host[:port][/path]"

    class Page:
        url = "https://site.test/"

    with pytest.raises(
        errors.InvalidRequestError, match=r"^Page has no api_endpoint to put a query on$"
    ):
        rebase_provider(Page, "http://127.0.0.1:1", query={"a": "1"})  # type: ignore[arg-type]


class Crashing(Failing):
    """A provider whose parser raises something that is not a G4FError."""

    @staticmethod
    def error() -> Exception:
        return KeyError("choices")


@pytest.mark.parametrize("stream", [True, False])
def test_whatever_a_provider_raises_leaves_as_a_g4f_error_with_the_partial_text(
    stream: bool,
) -> None:
    with pytest.raises(errors.ResponseError) as info:
        list(Crashing.create_completion("", HI, stream=stream))
    assert str(info.value) == "Crashing: cannot read the answer (KeyError: 'choices')"
    assert info.value.partial == "one two"
    assert isinstance(info.value.__cause__, KeyError)


class WithOptions(GeneratorProvider):
    supported_options = frozenset({"temperature"})

    @classmethod
    def create_generator(
        cls, model: str, messages: Any, transport: Transport, **kwargs: Any
    ) -> Iterator[str]:
        yield f"temperature={kwargs['temperature']}"


def test_a_provider_takes_only_the_options_it_declares() -> None:
    assert list(WithOptions.create_completion("", HI, temperature=0.5)) == ["temperature=0.5"]
    with pytest.raises(errors.InvalidRequestError) as info:
        WithOptions.create_completion("", HI, temprature=0.5)
    assert str(info.value) == (
        "WithOptions does not take the option 'temprature'; did you mean 'temperature'?"
    )
    with pytest.raises(errors.InvalidRequestError) as info:
        Koala.create_completion("", HI, web_search=True)
    assert str(info.value) == (
        "Koala does not take the option 'web_search';"
        " it takes: max_retries, proxy, session, stream, timeout"
    )
    with pytest.raises(errors.InvalidRequestError, match="stream must be True or False, got 1"):
        Koala.create_completion("", HI, 1)  # type: ignore[arg-type]
