"""Azure ML's built-in roles and what each may do (DESIGN.md §6). Pure data: no I/O."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    """What a route needs. Server-wide permissions are checked without a workspace."""

    ANONYMOUS = "anonymous"
    AUTHENTICATED = "authenticated"  # any valid token: /me, /version, one's own tokens
    SERVER_ADMIN = "server.admin"  # create workspaces and users
    # Workspace permissions (the route has a {workspace_name} path parameter).
    READ = "workspace.read"
    LOG_RUNS = "workspace.runs.write"
    WRITE_ASSETS = "workspace.assets.write"
    MANAGE_COMPUTE = "workspace.compute.write"
    MANAGE_SECRETS = "workspace.secrets.write"
    USE_SECRETS = "workspace.secrets.use"
    DELETE_ASSETS = "workspace.assets.delete"
    MANAGE_DATASTORES = "workspace.datastores.write"  # §6: datastores, gc and mlflow import share this row
    CREATE_LOCAL_DATASTORE = "workspace.datastores.local"
    UPDATE_SETTINGS = "workspace.settings.write"
    MANAGE_ACCESS = "workspace.access.write"  # assign roles, others' tokens, delete the workspace

    @property
    def is_workspace_scoped(self) -> bool:
        return self.value.startswith("workspace.")

    @property
    def in_words(self) -> str:
        """What the permission lets one do, for messages ("... needs one of the roles ...")."""
        return _PERMISSION_WORDS[self]


_PERMISSION_WORDS = {
    Permission.ANONYMOUS: "anyone may do this",
    Permission.AUTHENTICATED: "signing in",
    Permission.SERVER_ADMIN: "managing workspaces and users",
    Permission.READ: "reading",
    Permission.LOG_RUNS: "logging experiments and runs",
    Permission.WRITE_ASSETS: "creating and changing data, models and environments",
    Permission.MANAGE_COMPUTE: "managing compute",
    Permission.MANAGE_SECRETS: "managing secrets",
    Permission.USE_SECRETS: "reading secret values",
    Permission.DELETE_ASSETS: "archiving and deleting assets",
    Permission.MANAGE_DATASTORES: "managing datastores, garbage collection and MLflow imports",
    Permission.CREATE_LOCAL_DATASTORE: "creating datastores over local folders",
    Permission.UPDATE_SETTINGS: "changing workspace settings",
    Permission.MANAGE_ACCESS: "managing roles and access",
}


class Role(StrEnum):
    OWNER = "Owner"
    CONTRIBUTOR = "Contributor"
    DATA_SCIENTIST = "Data Scientist"
    COMPUTE_OPERATOR = "Compute Operator"
    READER = "Reader"

    @classmethod
    def parse(cls, value: str) -> Role:
        """Accept the display name in any case, with spaces, dashes or underscores."""
        wanted = value.strip().lower().replace("-", " ").replace("_", " ")
        for role in cls:
            if role.value.lower() == wanted or role.name.lower().replace("_", " ") == wanted:
                return role
        allowed = ", ".join(r.value for r in cls)
        raise ValueError(f"unknown role {value!r}; use one of: {allowed}")


_P = Permission
_EVERYONE = {_P.READ}
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(p for p in Permission if p.is_workspace_scoped),
    Role.CONTRIBUTOR: frozenset(
        _EVERYONE
        | {
            _P.LOG_RUNS,
            _P.WRITE_ASSETS,
            _P.MANAGE_COMPUTE,
            _P.MANAGE_SECRETS,
            _P.USE_SECRETS,
            _P.DELETE_ASSETS,
            _P.MANAGE_DATASTORES,
            _P.UPDATE_SETTINGS,
        }
    ),
    Role.DATA_SCIENTIST: frozenset(
        _EVERYONE | {_P.LOG_RUNS, _P.WRITE_ASSETS, _P.USE_SECRETS, _P.DELETE_ASSETS}
    ),
    Role.COMPUTE_OPERATOR: frozenset(_EVERYONE | {_P.MANAGE_COMPUTE}),
    Role.READER: frozenset(_EVERYONE),
}


def permissions_of(roles: set[Role]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)
