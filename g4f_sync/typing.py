"""Types shared by the public API."""

from __future__ import annotations

from typing import Dict, List, Literal, TypedDict, Union

__all__ = ["ROLES", "Message", "Messages", "Role"]

Role = Literal["system", "user", "assistant"]
ROLES = ("system", "user", "assistant")


class Message(TypedDict):
    """One chat message: ``{"role": "user", "content": "Hi"}``."""

    role: Role
    content: str


Messages = List[Union[Message, Dict[str, str]]]
