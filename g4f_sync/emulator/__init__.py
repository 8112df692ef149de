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

From a shell: ``python -m g4f_sync.emulator --port 8080`` (see ``--help``). Faults, query
parameters and the wire details are described in :mod:`g4f_sync.emulator.koala`; the server
side, including how a dropped connection stays free of data loss, in
:mod:`g4f_sync.emulator.server`.
"""

from .emulator import Emulator
from .koala import FAULTS, KoalaOptions
from .server import Exchange, LoopbackServer, RecordedRequest

__all__ = ["FAULTS", "Emulator", "Exchange", "KoalaOptions", "LoopbackServer", "RecordedRequest"]
