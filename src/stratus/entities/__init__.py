"""Stratus entities: plain data shared by the SDK and the server, with no I/O."""

from stratus.entities._base import CreationContext, Entity
from stratus.entities.auth import AccessToken, AuditEvent, Principal, RoleAssignment, User
from stratus.entities.roles import Permission, Role
from stratus.entities.tracking import Experiment, Job, Model
from stratus.entities.workspace import Workspace

__all__ = [
    "AccessToken",
    "AuditEvent",
    "CreationContext",
    "Entity",
    "Experiment",
    "Job",
    "Model",
    "Permission",
    "Principal",
    "Role",
    "RoleAssignment",
    "User",
    "Workspace",
]
