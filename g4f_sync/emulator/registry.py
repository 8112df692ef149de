"""The registry of emulated services: :data:`SERVICES`, a name -> its :class:`~.service.Service`.

The name is the service's keyword argument and attribute on :class:`~.emulator.Emulator`
(``Emulator(koala=KoalaOptions(...))``, ``emu.koala``) and the prefix of its command-line
options (``--chatgptt-answer``). Adding a service takes its module (or package, as
``openai``) and one line here.
"""

from __future__ import annotations

from .chatgptt import ChatGpttService
from .koala import KoalaService
from .openai import OpenAIService
from .replay import ReplayService
from .service import Service

__all__ = ["SERVICES"]

SERVICES: dict[str, type[Service]] = {
    "koala": KoalaService,
    "chatgptt": ChatGpttService,
    "openai": OpenAIService,
    "replay": ReplayService,
}
"""Every service an :class:`~.emulator.Emulator` runs, in the order their routes are added."""
