"""Name rules shared by every service, checked once here so errors read the same everywhere."""

from __future__ import annotations

import re

from stratus.errors import InvalidInputError

_NAME = re.compile(r"[A-Za-z0-9_-]{3,33}")
_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")


def check_workspace_name(name: str, field: str = "name") -> str:
    if not _NAME.fullmatch(name):
        raise InvalidInputError(
            f"invalid workspace name {name!r}: use 3-33 characters of letters, digits, '_' and '-'",
            field=field,
            code="INVALID_NAME",
        )
    return name


def check_user_name(name: str, field: str = "name") -> str:
    if not _USER.fullmatch(name):
        raise InvalidInputError(
            f"invalid user name {name!r}: use 1-64 characters of letters, digits, '_', '.', '@' and '-', "
            "starting with a letter or digit",
            field=field,
            code="INVALID_NAME",
        )
    return name
