"""The role table is DESIGN.md §6, exactly."""

from __future__ import annotations

import pytest

from stratus.entities.roles import ROLE_PERMISSIONS, Permission, Role

P = Permission
DESIGN_TABLE = {
    P.READ: {"Owner", "Contributor", "Data Scientist", "Compute Operator", "Reader"},
    P.LOG_RUNS: {"Owner", "Contributor", "Data Scientist"},
    P.WRITE_ASSETS: {"Owner", "Contributor", "Data Scientist"},
    P.MANAGE_COMPUTE: {"Owner", "Contributor", "Compute Operator"},
    P.MANAGE_SECRETS: {"Owner", "Contributor"},
    P.USE_SECRETS: {"Owner", "Contributor", "Data Scientist"},
    P.DELETE_ASSETS: {"Owner", "Contributor", "Data Scientist"},
    P.MANAGE_DATASTORES: {"Owner", "Contributor"},
    P.CREATE_LOCAL_DATASTORE: {"Owner"},
    P.UPDATE_SETTINGS: {"Owner", "Contributor"},
    P.MANAGE_ACCESS: {"Owner"},
}


def test_every_workspace_permission_is_in_the_design_table() -> None:
    assert set(DESIGN_TABLE) == {p for p in Permission if p.is_workspace_scoped}


@pytest.mark.parametrize("permission", list(DESIGN_TABLE))
def test_roles_granting(permission: Permission) -> None:
    granted = {role.value for role, perms in ROLE_PERMISSIONS.items() if permission in perms}
    assert granted == DESIGN_TABLE[permission]


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("owner", Role.OWNER),
        ("Data Scientist", Role.DATA_SCIENTIST),
        ("data-scientist", Role.DATA_SCIENTIST),
        ("COMPUTE_OPERATOR", Role.COMPUTE_OPERATOR),
        (" reader ", Role.READER),
    ],
)
def test_role_names_parse(text: str, role: Role) -> None:
    assert Role.parse(text) is role


def test_unknown_role_names_the_choices() -> None:
    with pytest.raises(ValueError, match="Owner, Contributor, Data Scientist"):
        Role.parse("admin")
