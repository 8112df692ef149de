"""Provider bases other providers build on, as gpt4free names them:
``from g4f_sync.Provider.template import OpenaiTemplate``."""

from .OpenaiTemplate import OpenaiTemplate

__all__ = ["OpenaiTemplate"]
