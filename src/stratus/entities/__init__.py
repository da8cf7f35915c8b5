"""Stratus entities: plain data shared by the SDK and the server, with no I/O.

Each name is imported on first use (``stratus._lazy``): a command that reads workspaces builds the
pydantic models of workspaces only."""

from typing import TYPE_CHECKING

__all__ = [
    "AccessKeyConfiguration",
    "AccessToken",
    "AccountKeyConfiguration",
    "AuditEvent",
    "AzureBlobDatastore",
    "AzureDataLakeGen2Datastore",
    "BuildContext",
    "CreationContext",
    "Data",
    "Datastore",
    "Entity",
    "Environment",
    "Experiment",
    "Job",
    "LocalDatastore",
    "Model",
    "NoneCredentialConfiguration",
    "Permission",
    "Principal",
    "Role",
    "RoleAssignment",
    "S3Datastore",
    "SasTokenConfiguration",
    "ServicePrincipalConfiguration",
    "User",
    "Workspace",
    "datastore_from_response",
]

if TYPE_CHECKING:
    from stratus.entities._base import CreationContext, Entity
    from stratus.entities.assets import (
        AccessKeyConfiguration,
        AccountKeyConfiguration,
        AzureBlobDatastore,
        AzureDataLakeGen2Datastore,
        BuildContext,
        Data,
        Datastore,
        Environment,
        LocalDatastore,
        NoneCredentialConfiguration,
        S3Datastore,
        SasTokenConfiguration,
        ServicePrincipalConfiguration,
        datastore_from_response,
    )
    from stratus.entities.auth import AccessToken, AuditEvent, Principal, RoleAssignment, User
    from stratus.entities.roles import Permission, Role
    from stratus.entities.tracking import Experiment, Job, Model
    from stratus.entities.workspace import Workspace
else:
    from stratus._lazy import exports

    __getattr__, __dir__ = exports(
        __name__,
        {
            "stratus.entities._base": ("CreationContext", "Entity"),
            "stratus.entities.assets": (
                "AccessKeyConfiguration",
                "AccountKeyConfiguration",
                "AzureBlobDatastore",
                "AzureDataLakeGen2Datastore",
                "BuildContext",
                "Data",
                "Datastore",
                "Environment",
                "LocalDatastore",
                "NoneCredentialConfiguration",
                "S3Datastore",
                "SasTokenConfiguration",
                "ServicePrincipalConfiguration",
                "datastore_from_response",
            ),
            "stratus.entities.auth": ("AccessToken", "AuditEvent", "Principal", "RoleAssignment", "User"),
            "stratus.entities.roles": ("Permission", "Role"),
            "stratus.entities.tracking": ("Experiment", "Job", "Model"),
            "stratus.entities.workspace": ("Workspace",),
        },
    )
