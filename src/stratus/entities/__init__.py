"""Stratus entities: plain data shared by the SDK and the server, with no I/O."""

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
