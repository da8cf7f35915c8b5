"""Secrets in job and deployment specs: ``${{secrets.NAME}}`` as the whole value of an environment variable.

References are resolved only when a process is spawned, into that process's environment alone: the
launcher calls :func:`resolve_for_launch` and passes the result as the child's ``env``; nothing is written
back to the spec, the job row, params or tags.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from stratus.entities.roles import Permission
from stratus.errors import InvalidInputError

if TYPE_CHECKING:
    from stratus.secrets.vault import KeyVault
    from stratus.server.services.context import Caller
    from stratus.store.access import WorkspaceRecord

_REFERENCE = re.compile(r"^\$\{\{\s*secrets\.([A-Za-z][A-Za-z0-9_-]{0,126})\s*\}\}$")
_ANY_REFERENCE = re.compile(r"\$\{\{\s*secrets\.")

# Raises PermissionDeniedError when the caller lacks the permission in the named workspace.
Authorize = Callable[["Caller", Permission, str], Any]


def secret_references(spec: Mapping[str, Any]) -> dict[str, str]:
    """``{variable: secret name}`` for every reference in ``environment_variables``; a reference that is
    only part of a value is an error (a secret is never spliced into other text)."""
    variables = spec.get("environment_variables") or {}
    if not isinstance(variables, Mapping):
        raise InvalidInputError("environment_variables must be a mapping", field="environment_variables")
    found: dict[str, str] = {}
    for variable, value in variables.items():
        text = "" if value is None else str(value)
        match = _REFERENCE.match(text.strip())
        if match:
            found[str(variable)] = match.group(1)
        elif _ANY_REFERENCE.search(text):
            raise InvalidInputError(
                f"environment_variables.{variable}: a secret reference must be the whole value, "
                "written ${{secrets.NAME}}",
                field=f"environment_variables.{variable}",
            )
    return found


def resolve_for_launch(
    spec: Mapping[str, Any],
    *,
    vault: KeyVault,
    workspace: WorkspaceRecord,
    caller: Caller,
    authorize: Authorize,
    purpose: str = "job",
) -> dict[str, str]:
    """The environment variables of ``spec`` with secret references replaced by their values, for the
    ``env`` of the one process being spawned. Needs ``USE_SECRETS`` (Reader and Compute Operator lack it)."""
    references = secret_references(spec)
    variables = {
        str(k): "" if v is None else str(v) for k, v in (spec.get("environment_variables") or {}).items()
    }
    if references:
        authorize(caller, Permission.USE_SECRETS, workspace.name)
    for variable, name in references.items():
        variables[variable] = vault.resolve(
            workspace,
            name,
            actor=caller.user_name,
            purpose=purpose,
            variable=variable,
            client_ip=caller.client_ip,
        )
    return variables
