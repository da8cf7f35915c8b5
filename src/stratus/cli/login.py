from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import typer

from stratus.cli._common import (
    EXIT_USAGE,
    OutputFormat,
    OutputOpt,
    QueryOpt,
    check_query,
    emit,
    handle_errors,
    querying,
    stderr,
)
from stratus.errors import NotFoundError


@handle_errors
def login(
    url: Annotated[
        str | None,
        typer.Option("--url", help="Server URL; default STRATUS_URL, else the server running here"),
    ] = None,
    workspace_name: Annotated[str | None, typer.Option("--workspace-name", "-w")] = None,
    token: Annotated[str | None, typer.Option("--token", help="Prefer --token-file or stdin")] = None,
    token_file: Annotated[Path | None, typer.Option("--token-file", help="File holding the token")] = None,
    output: OutputOpt = OutputFormat.json,
    query: QueryOpt = None,
) -> None:
    """Check a token against the server and save it as your profile (0600)."""
    from stratus.client import profile
    from stratus.client._http import Transport
    from stratus.entities import Principal

    check_query(query)  # a bad --query is refused before anything is saved
    if token_file is not None and not token_file.is_file():
        stderr.print(f"error: --token-file {token_file}: file not found", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE)
    secret = token or (profile.read_token_file(token_file) if token_file else None)
    if secret is None and token_file is None:
        if sys.stdin.isatty():
            secret = typer.prompt("Token", hide_input=True)
        else:
            secret = sys.stdin.readline().strip()
    if not secret:
        stderr.print("error: no token given: use --token, --token-file or standard input")
        raise typer.Exit(EXIT_USAGE)
    # No --url: STRATUS_URL, else the server running here, which the saved login then keeps following
    # through <home>/server.json (its port may change between starts).
    saved_url = url or os.environ.get("STRATUS_URL")
    url = saved_url or profile.local_url()
    transport = Transport(url, secret)
    try:
        me = Principal.from_response(transport.request("GET", "/api/v1/me", params={"login": "true"}))
        if workspace_name is not None:  # saved as the default of every later command: it must exist
            try:
                transport.request("GET", f"/api/v1/workspaces/{quote(workspace_name, safe='')}")
            except NotFoundError:
                raise NotFoundError(
                    f"workspace {workspace_name!r} does not exist on {url} (or this token cannot see it); "
                    "'stratus workspace list' shows the ones you can use",
                    field="workspace_name",
                ) from None
    finally:
        transport.close()
    path = profile.save_profile(saved_url.rstrip("/") if saved_url else None, secret, workspace_name)
    stderr.print(f"Logged in to {url} as {me.user}; profile saved in {path}")
    with querying(query):
        emit(me, output, ("user", "is_server_admin", "token_workspace"))
