"""Every route's permission, row by row, against the role table of DESIGN.md §6 (read from the document).

Each route is listed with the §6 row its action belongs to; the roles that the route's declared permission
grants (``ROLE_PERMISSIONS``) must be exactly the roles that row ticks. A new route fails this test until it
is placed in a row, so its permission is chosen against the design rather than copied from a neighbour.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stratus.entities.roles import ROLE_PERMISSIONS, Permission, Role
from stratus.server.app import api_routes, create_app
from stratus.server.authz import declared_permission
from stratus.server.state import ServerState

DESIGN = Path(__file__).resolve().parents[3] / "docs" / "DESIGN.md"

# Row keys: the start of the action cell of a §6 row, or a rule stated outside the table.
READ = "read workspace assets"
LOG = "log runs and artifacts"
WRITE = "create/update data"
SECRETS_SET = "set and delete secrets"
SECRETS_USE = "use secrets in jobs"
DELETE = "delete, restore or archive"
MAINTAIN = "create/delete datastores"  # datastores, gc, mlflow import
SETTINGS = "update workspace settings"
ACCESS = "assign roles"
# Not workspace-scoped: checked as the permission itself.
ANY_TOKEN = "any token"  # §6 "create, list and revoke one's own tokens", /me, /version, the contract
SERVER_ADMIN = "server admin"  # "Creating workspaces and users is the server admin's alone"
ANONYMOUS = "anonymous"  # §5: /health, /ready, /docs, /

V1 = "/api/v1/workspaces/{workspace_name}"
ML = "/workspaces/{workspace_name}/api/2.0/mlflow"
ART = "/workspaces/{workspace_name}/api/2.0/mlflow-artifacts"

ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/"): ANONYMOUS,
    ("GET", "/health"): ANONYMOUS,
    ("GET", "/ready"): ANONYMOUS,
    ("GET", "/docs"): ANONYMOUS,
    ("GET", "/openapi.json"): ANY_TOKEN,
    ("GET", "/metrics"): ANY_TOKEN,
    ("GET", "/api/v1/version"): ANY_TOKEN,
    ("GET", "/api/v1/me"): ANY_TOKEN,
    ("GET", "/api/v1/workspaces"): ANY_TOKEN,  # each caller sees the workspaces it has a role in
    ("POST", "/api/v1/workspaces"): SERVER_ADMIN,
    ("GET", V1): READ,
    ("PATCH", V1): SETTINGS,
    ("DELETE", V1): ACCESS,
    ("GET", "/api/v1/users"): SERVER_ADMIN,
    ("POST", "/api/v1/users"): SERVER_ADMIN,
    ("GET", "/api/v1/users/{user_name}"): SERVER_ADMIN,
    ("GET", "/api/v1/tokens"): ANY_TOKEN,
    ("POST", "/api/v1/tokens"): ANY_TOKEN,
    ("GET", "/api/v1/tokens/{token_id}"): ANY_TOKEN,
    ("DELETE", "/api/v1/tokens/{token_id}"): ANY_TOKEN,
    ("GET", "/api/v1/audit"): SERVER_ADMIN,
    ("POST", "/api/v1/session"): ANY_TOKEN,
    ("DELETE", "/api/v1/session"): ANY_TOKEN,
    ("GET", f"{V1}/role-assignments"): READ,
    ("POST", f"{V1}/role-assignments"): ACCESS,
    ("DELETE", f"{V1}/role-assignments"): ACCESS,
    ("GET", f"{V1}/experiments"): READ,
    ("GET", f"{V1}/experiments/{{name}}"): READ,
    ("GET", f"{V1}/jobs"): READ,
    ("GET", f"{V1}/jobs/{{name}}"): READ,
    ("GET", f"{V1}/models"): READ,
    ("POST", f"{V1}/models/{{name}}/versions"): WRITE,
    ("GET", f"{V1}/models/{{name}}/versions/{{version}}"): READ,
    ("POST", f"{V1}/models/{{name}}/versions/{{version}}/archive"): DELETE,
    ("POST", f"{V1}/models/{{name}}/versions/{{version}}/restore"): DELETE,
    ("POST", f"{V1}/gc"): MAINTAIN,
    ("PUT", f"{V1}/secrets/{{name}}"): SECRETS_SET,
    ("DELETE", f"{V1}/secrets/{{name}}"): SECRETS_SET,
    ("GET", f"{V1}/secrets"): SECRETS_USE,  # names only; docs/DESIGN.md §8: who may use them may list them
    ("PUT", f"{V1}/datastores/{{name}}"): MAINTAIN,  # type: local also needs the Owner row, in the service
    ("DELETE", f"{V1}/datastores/{{name}}"): MAINTAIN,
    ("GET", f"{V1}/datastores"): READ,
    ("GET", f"{V1}/datastores/{{name}}"): READ,
    ("POST", f"{V1}/data/{{name}}/versions"): WRITE,
    ("GET", f"{V1}/data"): READ,
    ("GET", f"{V1}/data/{{name}}/versions/{{version}}"): READ,
    ("PATCH", f"{V1}/data/{{name}}/versions/{{version}}"): WRITE,
    ("POST", f"{V1}/data/{{name}}/versions/{{version}}/archive"): DELETE,
    ("POST", f"{V1}/data/{{name}}/versions/{{version}}/restore"): DELETE,
    ("POST", f"{V1}/data/{{name}}/archive"): DELETE,
    ("POST", f"{V1}/data/{{name}}/restore"): DELETE,
    ("GET", f"{V1}/data/{{name}}/versions/{{version}}/lineage"): READ,
    ("GET", f"{V1}/data/{{name}}/versions/{{version}}/files"): READ,
    ("GET", f"{V1}/data/{{name}}/versions/{{version}}/files/{{path:path}}"): READ,
    ("POST", f"{V1}/environments/{{name}}/versions"): WRITE,
    ("POST", f"{V1}/environments/{{name}}/versions/from-model"): WRITE,
    ("GET", f"{V1}/environments"): READ,
    ("GET", f"{V1}/environments/{{name}}/versions/{{version}}"): READ,
    ("PATCH", f"{V1}/environments/{{name}}/versions/{{version}}"): WRITE,
    ("POST", f"{V1}/environments/{{name}}/versions/{{version}}/archive"): DELETE,
    ("POST", f"{V1}/environments/{{name}}/versions/{{version}}/restore"): DELETE,
    ("POST", f"{V1}/environments/{{name}}/archive"): DELETE,
    ("POST", f"{V1}/environments/{{name}}/restore"): DELETE,
    ("POST", f"{V1}/environments/{{name}}/versions/{{version}}/build"): WRITE,
    ("GET", f"{V1}/environments/{{name}}/versions/{{version}}/build-log"): READ,
    ("GET", f"{V1}/environments/{{name}}/versions/{{version}}/lock"): READ,
    # MLflow tracking: experiments and runs are what "log runs" makes; deleting or restoring them is the
    # delete row.
    ("POST", f"{ML}/experiments/create"): LOG,
    ("GET", f"{ML}/experiments/get"): READ,
    ("GET", f"{ML}/experiments/get-by-name"): READ,
    ("POST", f"{ML}/experiments/search"): READ,
    ("GET", f"{ML}/experiments/search"): READ,
    ("POST", f"{ML}/experiments/update"): LOG,
    ("POST", f"{ML}/experiments/delete"): DELETE,
    ("POST", f"{ML}/experiments/restore"): DELETE,
    ("POST", f"{ML}/experiments/set-experiment-tag"): LOG,
    ("POST", f"{ML}/experiments/delete-experiment-tag"): LOG,
    ("POST", f"{ML}/runs/create"): LOG,
    ("GET", f"{ML}/runs/get"): READ,
    ("POST", f"{ML}/runs/update"): LOG,
    ("POST", f"{ML}/runs/delete"): DELETE,
    ("POST", f"{ML}/runs/restore"): DELETE,
    ("POST", f"{ML}/runs/log-metric"): LOG,
    ("POST", f"{ML}/runs/log-parameter"): LOG,
    ("POST", f"{ML}/runs/set-tag"): LOG,
    ("POST", f"{ML}/runs/delete-tag"): LOG,
    ("POST", f"{ML}/runs/log-batch"): LOG,
    ("POST", f"{ML}/runs/log-inputs"): LOG,
    ("POST", f"{ML}/runs/search"): READ,
    ("GET", f"{ML}/runs/search"): READ,
    ("GET", f"{ML}/metrics/get-history"): READ,
    ("GET", f"{ML}/metrics/get-history-bulk-interval"): READ,
    ("GET", f"{ML}/metrics/get-history-bulk"): READ,
    # MLflow 3 logged models are logged by runs; deleting one is the delete row.
    ("POST", f"{ML}/logged-models"): LOG,
    ("POST", f"{ML}/logged-models/search"): READ,
    ("GET", f"{ML}/logged-models/{{model_id}}"): READ,
    ("PATCH", f"{ML}/logged-models/{{model_id}}"): LOG,
    ("DELETE", f"{ML}/logged-models/{{model_id}}"): DELETE,
    ("PATCH", f"{ML}/logged-models/{{model_id}}/tags"): LOG,
    ("DELETE", f"{ML}/logged-models/{{model_id}}/tags/{{tag_key}}"): LOG,
    ("POST", f"{ML}/logged-models/{{model_id}}/params"): LOG,
    ("POST", f"{ML}/runs/outputs"): LOG,
    # The registry: registering and updating models is the models row; deleting them the delete row.
    ("POST", f"{ML}/registered-models/create"): WRITE,
    ("GET", f"{ML}/registered-models/get"): READ,
    ("POST", f"{ML}/registered-models/alias"): WRITE,
    ("GET", f"{ML}/registered-models/alias"): READ,
    ("DELETE", f"{ML}/registered-models/alias"): WRITE,
    ("POST", f"{ML}/model-versions/create"): WRITE,
    ("GET", f"{ML}/model-versions/get"): READ,
    ("GET", f"{ML}/model-versions/get-download-uri"): READ,
    ("GET", f"{ML}/registered-models/search"): READ,
    ("POST", f"{ML}/registered-models/get-latest-versions"): READ,
    ("GET", f"{ML}/registered-models/get-latest-versions"): READ,
    ("PATCH", f"{ML}/registered-models/update"): WRITE,
    ("POST", f"{ML}/registered-models/rename"): WRITE,
    ("DELETE", f"{ML}/registered-models/delete"): DELETE,
    ("POST", f"{ML}/registered-models/set-tag"): WRITE,
    ("DELETE", f"{ML}/registered-models/delete-tag"): WRITE,
    ("GET", f"{ML}/model-versions/search"): READ,
    ("PATCH", f"{ML}/model-versions/update"): WRITE,
    ("DELETE", f"{ML}/model-versions/delete"): DELETE,
    ("POST", f"{ML}/model-versions/set-tag"): WRITE,
    ("DELETE", f"{ML}/model-versions/delete-tag"): WRITE,
    ("PUT", f"{ART}/artifacts/{{artifact_path:path}}"): LOG,
    ("GET", f"{ART}/artifacts/{{artifact_path:path}}"): READ,
    ("GET", f"{ART}/artifacts"): READ,
    ("DELETE", f"{ART}/artifacts/{{artifact_path:path}}"): DELETE,
    ("POST", f"{ART}/mpu/create/{{artifact_path:path}}"): LOG,
    ("POST", f"{ART}/mpu/complete/{{artifact_path:path}}"): LOG,
    ("POST", f"{ART}/mpu/abort/{{artifact_path:path}}"): LOG,
    ("PUT", f"{ART}/mpu/part/{{artifact_path:path}}"): LOG,  # the signature stands for mpu/create's LOG
    ("GET", "/workspaces/{workspace_name}/api/3.0/mlflow/server-info"): READ,
}
NOT_WORKSPACE_SCOPED = {
    ANY_TOKEN: Permission.AUTHENTICATED,
    SERVER_ADMIN: Permission.SERVER_ADMIN,
    ANONYMOUS: Permission.ANONYMOUS,
}
ROLE_COLUMNS = [Role.OWNER, Role.CONTRIBUTOR, Role.DATA_SCIENTIST, Role.COMPUTE_OPERATOR, Role.READER]


def design_rows() -> dict[str, set[Role]]:
    """§6's table: each row's action cell and the roles it ticks. The secrets row is two rows: ticked
    roles set and delete secrets; "use only" roles only use them."""
    section = DESIGN.read_text(encoding="utf-8").split("## 6.", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, set[Role]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 1 + len(ROLE_COLUMNS) or cells[0] in ("action", "") or set(cells[0]) == {"-"}:
            continue
        action, marks = cells[0], cells[1:]
        if action.startswith(SECRETS_SET):
            rows[SECRETS_SET] = {r for r, m in zip(ROLE_COLUMNS, marks, strict=True) if m == "✓"}
            rows[SECRETS_USE] = {
                r for r, m in zip(ROLE_COLUMNS, marks, strict=True) if m in ("✓", "use only")
            }
            continue
        assert all(m in ("✓", "") for m in marks), line
        rows[action] = {r for r, m in zip(ROLE_COLUMNS, marks, strict=True) if m == "✓"}
    assert len(rows) >= 10, "DESIGN.md §6 table not found"
    return rows


def _row(rows: dict[str, set[Role]], key: str) -> set[Role]:
    found = [roles for action, roles in rows.items() if action.startswith(key)]
    assert len(found) == 1, f"no single §6 row starts with {key!r}"
    return found[0]


@pytest.fixture
def routes(server_state: ServerState) -> dict[tuple[str, str], Permission]:
    """(method, path) of every route in the app, MLflow aliases included, with its declared permission."""
    found: dict[tuple[str, str], Permission] = {}
    for route in api_routes(create_app(server_state)):
        permission = declared_permission(route)
        assert permission is not None, route.path
        for method in route.methods or ():
            found[(method, route.path)] = permission
    return found


def _canonical(path: str) -> str:
    """An MLflow alias route (no workspace prefix, ajax-api) as the prefixed api/ route it aliases."""
    path = re.sub(r"^/(ajax-)?api/([0-9.]+)/mlflow", r"/workspaces/{workspace_name}/api/\2/mlflow", path)
    return path.replace("/workspaces/{workspace_name}/ajax-api/", "/workspaces/{workspace_name}/api/")


def test_every_route_is_placed_in_a_row_of_section_6(routes: dict[tuple[str, str], Permission]) -> None:
    canonical = {(method, _canonical(path)) for method, path in routes}
    assert sorted(canonical - set(ROUTES)) == [], "routes not placed in a §6 row: add them to ROUTES"
    assert sorted(set(ROUTES) - canonical) == [], "ROUTES lists routes the app does not have"


def test_each_route_grants_exactly_the_roles_of_its_row(routes: dict[tuple[str, str], Permission]) -> None:
    rows = design_rows()
    wrong = []
    for (method, path), permission in sorted(routes.items()):
        key = ROUTES.get((method, _canonical(path)))
        if key is None:
            continue  # reported by the test above
        if key in NOT_WORKSPACE_SCOPED:
            if permission is not NOT_WORKSPACE_SCOPED[key]:
                wrong.append(f"{method} {path}: {permission.name}, but §6 says {key}")
            continue
        granted = {role for role, perms in ROLE_PERMISSIONS.items() if permission in perms}
        expected = _row(rows, key)
        if granted != expected:
            wrong.append(
                f"{method} {path}: {permission.name} grants {sorted(r.value for r in granted)}; §6 row "
                f"{key!r} ticks {sorted(r.value for r in expected)}"
            )
    assert wrong == [], "\n".join(wrong)


def test_the_table_parser_reads_section_6() -> None:
    rows = design_rows()
    assert _row(rows, MAINTAIN) == {Role.OWNER, Role.CONTRIBUTOR}
    assert _row(rows, SECRETS_USE) == {Role.OWNER, Role.CONTRIBUTOR, Role.DATA_SCIENTIST}
    assert _row(rows, READ) == set(Role)
    assert _row(rows, "create `type: local` datastores") == {Role.OWNER}
