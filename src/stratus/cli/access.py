"""Users, tokens, role assignments and the audit log."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stratus.cli._common import OutputFormat, OutputOpt, WorkspaceOpt, emit, stderr, workspace_command

if TYPE_CHECKING:
    from stratus.client import MLClient
    from stratus.entities import AccessToken, AuditEvent, RoleAssignment, User

user_app = typer.Typer(help="Manage users (server admin).", no_args_is_help=True)
token_app = typer.Typer(help="Manage bearer tokens.", no_args_is_help=True)
role_app = typer.Typer(help="Manage role assignments in a workspace.", no_args_is_help=True)
audit_app = typer.Typer(help="Read the audit log (server admin).", no_args_is_help=True)

USER_COLUMNS = ("name", "display_name", "is_server_admin")
TOKEN_COLUMNS = ("id", "user", "name", "workspace", "expires_at", "revoked_at", "last_used_at")
ROLE_COLUMNS = ("user", "role", "workspace", "id")
AUDIT_COLUMNS = ("id", "at", "action", "outcome", "actor", "workspace", "target", "client_ip")
UserOpt = Annotated[str, typer.Option("--user", "-u", help="User name")]
UserNameOpt = Annotated[str, typer.Option("--name", "-n")]
YourselfOpt = Annotated[str | None, typer.Option("--user", "-u", help="Default: yourself")]


@user_app.command("create")
@workspace_command(USER_COLUMNS)
def user_create(
    ml: MLClient,
    name: UserNameOpt,
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    server_admin: Annotated[
        bool, typer.Option("--server-admin", help="May create workspaces and users")
    ] = False,
) -> User:
    """Create a user. Give them access with 'stratus role assign' and a token with 'stratus token create'."""
    from stratus.entities import User

    return ml.users.create(User(name=name, display_name=display_name, is_server_admin=server_admin))


@user_app.command("list")
@workspace_command(USER_COLUMNS)
def user_list(ml: MLClient) -> list[User]:
    """List users."""
    return list(ml.users.list())


@user_app.command("show")
@workspace_command(USER_COLUMNS)
def user_show(ml: MLClient, name: UserNameOpt) -> User:
    """Show one user."""
    return ml.users.get(name)


@token_app.command("create")
@workspace_command()
def token_create(
    ml: MLClient,
    user: YourselfOpt = None,
    workspace_name: WorkspaceOpt = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="A label for the token")] = None,
    expires_in: Annotated[str, typer.Option("--expires-in", help="e.g. 30d, 12h, 1w, or never")] = "90d",
    save_to: Annotated[
        Path | None, typer.Option("--save-to", help="Also write the token alone to this file (0600)")
    ] = None,
    output: OutputOpt = OutputFormat.json,
) -> None:
    """Create a token, scoped to one workspace: -w, else STRATUS_WORKSPACE or your login's workspace (none
    of them: a token for every workspace you have a role in). The secret is printed once, now."""
    from stratus._files import write_private
    from stratus.client import profile

    scope = workspace_name or profile.configured_workspace()
    token = ml.tokens.create(user=user, workspace_name=scope, name=name, expires_in=expires_in)
    if save_to is not None and token.token:
        write_private(save_to, token.token + "\n")
        stderr.print(f"Token saved to {save_to} (mode 0600)")
    if output is not OutputFormat.table:  # the API body, or what --query kept of it
        emit(token, output)
        return
    emit(token, output, TOKEN_COLUMNS[:5])
    # On a line of its own, whole, so it can be copied; it is never shown again.
    sys.stdout.flush()
    stderr.print("Token (shown only now; store it safely):")
    print(token.token, flush=True)


@token_app.command("list")
@workspace_command(TOKEN_COLUMNS)
def token_list(ml: MLClient, user: YourselfOpt = None) -> list[AccessToken]:
    """List tokens (never their secrets)."""
    return list(ml.tokens.list(user=user))


@token_app.command("revoke")
@workspace_command(TOKEN_COLUMNS)
def token_revoke(
    ml: MLClient, token_id: Annotated[str, typer.Option("--id", help="Token id (tok_...)")]
) -> AccessToken:
    """Revoke a token at once."""
    return ml.tokens.revoke(token_id)


@role_app.command("assign")
@workspace_command(ROLE_COLUMNS)
def role_assign(
    ml: MLClient,
    user: UserOpt,
    role: Annotated[
        str,
        typer.Option(
            "--role", "-r", help="Owner, Contributor, 'Data Scientist', 'Compute Operator' or Reader"
        ),
    ],
) -> RoleAssignment:
    """Give a user a role in a workspace (Owner)."""
    return ml.role_assignments.create(user, role)


@role_app.command("list")
@workspace_command(ROLE_COLUMNS)
def role_list(
    ml: MLClient, user: Annotated[str | None, typer.Option("--user", "-u")] = None
) -> list[RoleAssignment]:
    """List role assignments of a workspace."""
    return list(ml.role_assignments.list(user=user))


@role_app.command("delete")
@workspace_command(output=False)
def role_delete(ml: MLClient, user: UserOpt, role: Annotated[str, typer.Option("--role", "-r")]) -> None:
    """Remove a role from a user in a workspace (Owner). Takes effect at once."""
    ml.role_assignments.delete(user, role)
    stderr.print(f"Removed role {role!r} of {user!r} in workspace {ml.workspace_name!r}.")


@audit_app.command("list")
@workspace_command(AUDIT_COLUMNS)
def audit_list(
    ml: MLClient,
    action: Annotated[str | None, typer.Option("--action", help="e.g. auth.failed, token.create")] = None,
    top: Annotated[int, typer.Option("--top", help="At most this many, newest first")] = 100,
) -> list[AuditEvent]:
    """List audit events, newest first."""
    events = []
    for event in ml.audit.list(action=action):
        events.append(event)
        if len(events) >= top:
            break
    return events
