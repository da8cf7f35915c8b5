"""Users, tokens, role assignments and the audit log."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from stratus.cli._common import (
    OutputFormat,
    OutputOpt,
    ResourceGroupOpt,
    SubscriptionOpt,
    UrlOpt,
    WorkspaceOpt,
    client,
    emit,
    handle_errors,
    stderr,
)
from stratus.entities import User

user_app = typer.Typer(help="Manage users (server admin).", no_args_is_help=True)
token_app = typer.Typer(help="Manage bearer tokens.", no_args_is_help=True)
role_app = typer.Typer(help="Manage role assignments in a workspace.", no_args_is_help=True)
audit_app = typer.Typer(help="Read the audit log (server admin).", no_args_is_help=True)

USER_COLUMNS = ("name", "display_name", "is_server_admin")
TOKEN_COLUMNS = ("id", "user", "name", "workspace", "expires_at", "revoked_at", "last_used_at")
ROLE_COLUMNS = ("user", "role", "workspace", "id")
AUDIT_COLUMNS = ("id", "at", "action", "outcome", "actor", "workspace", "target", "client_ip")
UserOpt = Annotated[str, typer.Option("--user", "-u", help="User name")]


@user_app.command("create")
@handle_errors
def user_create(
    name: Annotated[str, typer.Option("--name", "-n")],
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    server_admin: Annotated[
        bool, typer.Option("--server-admin", help="May create workspaces and users")
    ] = False,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Create a user. Give them access with 'stratus role assign' and a token with 'stratus token create'."""
    ml = client(workspace_name, url, resource_group, subscription)
    emit(
        ml.users.create(User(name=name, display_name=display_name, is_server_admin=server_admin)),
        output,
        USER_COLUMNS,
    )


@user_app.command("list")
@handle_errors
def user_list(
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """List users."""
    emit(list(client(workspace_name, url, resource_group, subscription).users.list()), output, USER_COLUMNS)


@user_app.command("show")
@handle_errors
def user_show(
    name: Annotated[str, typer.Option("--name", "-n")],
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Show one user."""
    emit(client(workspace_name, url, resource_group, subscription).users.get(name), output, USER_COLUMNS)


@token_app.command("create")
@handle_errors
def token_create(
    user: Annotated[str | None, typer.Option("--user", "-u", help="Default: yourself")] = None,
    workspace_name: WorkspaceOpt = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="A label for the token")] = None,
    expires_in: Annotated[str, typer.Option("--expires-in", help="e.g. 30d, 12h, 1w, or never")] = "90d",
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Create a token, scoped to one workspace with -w. The secret is printed once, now."""
    ml = client(workspace_name, url, resource_group, subscription)
    token = ml.tokens.create(user=user, workspace_name=workspace_name, name=name, expires_in=expires_in)
    if output is OutputFormat.json:
        emit(token, output)
        return
    emit(token, output, TOKEN_COLUMNS[:5])
    # On a line of its own, whole, so it can be copied; it is never shown again.
    sys.stdout.flush()
    stderr.print("Token (shown only now; store it safely):")
    print(token.token, flush=True)


@token_app.command("list")
@handle_errors
def token_list(
    user: Annotated[str | None, typer.Option("--user", "-u", help="Default: yourself")] = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """List tokens (never their secrets)."""
    emit(
        list(client(workspace_name, url, resource_group, subscription).tokens.list(user=user)),
        output,
        TOKEN_COLUMNS,
    )


@token_app.command("revoke")
@handle_errors
def token_revoke(
    token_id: Annotated[str, typer.Option("--id", help="Token id (tok_...)")],
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Revoke a token at once."""
    emit(
        client(workspace_name, url, resource_group, subscription).tokens.revoke(token_id),
        output,
        TOKEN_COLUMNS,
    )


@role_app.command("assign")
@handle_errors
def role_assign(
    user: UserOpt,
    role: Annotated[
        str,
        typer.Option(
            "--role", "-r", help="Owner, Contributor, 'Data Scientist', 'Compute Operator' or Reader"
        ),
    ],
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Give a user a role in a workspace (Owner)."""
    ml = client(workspace_name, url, resource_group, subscription)
    emit(ml.role_assignments.create(user, role), output, ROLE_COLUMNS)


@role_app.command("list")
@handle_errors
def role_list(
    user: Annotated[str | None, typer.Option("--user", "-u")] = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """List role assignments of a workspace."""
    ml = client(workspace_name, url, resource_group, subscription)
    emit(list(ml.role_assignments.list(user=user)), output, ROLE_COLUMNS)


@role_app.command("delete")
@handle_errors
def role_delete(
    user: UserOpt,
    role: Annotated[str, typer.Option("--role", "-r")],
    workspace_name: WorkspaceOpt = None,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Remove a role from a user in a workspace (Owner). Takes effect at once."""
    ml = client(workspace_name, url, resource_group, subscription)
    ml.role_assignments.delete(user, role)
    stderr.print(f"Removed role {role!r} of {user!r} in workspace {ml.workspace_name!r}.")


@audit_app.command("list")
@handle_errors
def audit_list(
    action: Annotated[str | None, typer.Option("--action", help="e.g. auth.failed, token.create")] = None,
    top: Annotated[int, typer.Option("--top", help="At most this many, newest first")] = 100,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """List audit events, newest first."""
    events = []
    for event in client(workspace_name, url, resource_group, subscription).audit.list(action=action):
        events.append(event)
        if len(events) >= top:
            break
    emit(events, output, AUDIT_COLUMNS)
