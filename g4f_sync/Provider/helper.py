"""Small pieces several providers share."""

from __future__ import annotations

import random
import secrets
import string

from ..typing import Messages

__all__ = ["format_prompt", "get_random_hex", "get_random_string"]


def format_prompt(messages: Messages) -> str:
    """One message gives its content unchanged; several become ``"Role: content"`` lines
    followed by ``"\\nAssistant:"``, as g4f does."""
    if len(messages) == 1:
        return messages[0]["content"]
    lines = "\n".join(
        f"{message['role'].capitalize()}: {message['content']}" for message in messages
    )
    return f"{lines}\nAssistant:"


def get_random_string(length: int = 10) -> str:
    """``length`` random characters from ``[a-z0-9]``."""
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=length))


def get_random_hex(length: int = 10) -> str:
    """``length`` random lowercase hex digits."""
    return secrets.token_hex((length + 1) // 2)[:length]
