"""Asset references as Azure ML writes them: ``azureml:<name>:<version>`` and ``azureml:<name>@<label>``."""

from __future__ import annotations

import re

from stratus.errors import InvalidInputError

_REFERENCE = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,254})(?:(?::(?P<version>[^:@/]+))|(?:@(?P<label>[A-Za-z0-9_-]+)))$"
)


def parse_reference(reference: str) -> tuple[str, str | None, str | None]:
    """``azureml:name:version`` or ``azureml:name@latest`` (``azureml:`` optional): (name, version, label)."""
    # The prefix is stripped first: matched as optional, `azureml:name` would read as name `azureml`.
    match = _REFERENCE.match(reference.strip().removeprefix("azureml:"))
    if match is None:
        raise InvalidInputError(
            f"reference {reference!r} needs a version or label: azureml:<name>:<version> or "
            "azureml:<name>@latest",
            field="reference",
        )
    return match.group("name"), match.group("version"), match.group("label")
