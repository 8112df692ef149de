"""Loopback emulators of the providers' (now defunct) services, for offline use, tests and
benchmarks. Standard library only.

::

    from g4f_sync.Provider import Koala
    from g4f_sync.emulator import Emulator, KoalaOptions

    messages = [{"role": "user", "content": "Hi"}]
    with Emulator(koala=KoalaOptions(tokens=["Hello", ", world"], delay=0.01)) as emu:
        local = emu.provider(Koala)              # Koala, rebased onto emu.url
        print("".join(local.create_completion("", messages)))
        print(emu.requests[0].json())            # what the provider sent
        limited = emu.provider(Koala, fault="rate_limit")  # per-request options, by query
        list(limited.create_completion("", messages))  # raises errors.RateLimitError

ChatGptt's WordPress page and ajax handler run on the same server::

    from g4f_sync.emulator import ChatGpttOptions
    from g4f_sync.Provider import ChatGptt

    with Emulator(chatgptt=ChatGpttOptions(answer="sse")) as emu:
        print("".join(emu.provider(ChatGptt).create_completion("", messages)))
        stale = emu.provider(ChatGptt, fault="stale_nonce")  # the query goes to both URLs

``emu.requests`` keeps the last 1,000 requests (``Emulator(keep_requests=None)``: all of
them); ``emu.request_count`` counts every one. From a shell: ``python -m g4f_sync.emulator
--port 8080`` (see ``--help``), which keeps no record; ``EmulatorProcess`` runs that in a
child process. Faults, query parameters and the wire details are described in
:mod:`g4f_sync.emulator.koala`, :mod:`g4f_sync.emulator.chatgptt` and docs/openai-emulator.md
(OpenAI's chat completions, :mod:`g4f_sync.emulator.openai`:
``Emulator(openai=OpenAIOptions())`` and ``openai.OpenAI(base_url=emu.url + "/v1")``) and
:mod:`g4f_sync.emulator.replay` (responses captured from real servers, served again:
``Emulator(replay=ReplayOptions(stream=Recording.load("stream.http")))``). Every
service is registered in :data:`SERVICES`; docs/emulator.md maps the modules, says how to
add a service, and has the measurements behind the server's design.
"""

from .chatgptt import ChatGpttOptions
from .emulator import Emulator
from .exchange import Exchange, RecordedRequest
from .koala import FAULTS, KoalaOptions
from .openai import OpenAIOptions
from .options import ServiceOptions, option
from .process import EmulatorProcess
from .recording import Recording
from .registry import SERVICES
from .replay import ReplayOptions
from .server import LoopbackServer
from .service import Service

__all__ = [
    "FAULTS",
    "SERVICES",
    "ChatGpttOptions",
    "Emulator",
    "EmulatorProcess",
    "Exchange",
    "KoalaOptions",
    "LoopbackServer",
    "OpenAIOptions",
    "RecordedRequest",
    "Recording",
    "ReplayOptions",
    "Service",
    "ServiceOptions",
    "option",
]
