from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from stratus.cli._common import EXIT_USAGE, OutputFormat, OutputOpt, emit, handle_errors, stderr


@handle_errors
def login(
    url: Annotated[str, typer.Option("--url", help="Server URL, e.g. http://127.0.0.1:8765")],
    workspace_name: Annotated[str | None, typer.Option("--workspace-name", "-w")] = None,
    token: Annotated[str | None, typer.Option("--token", help="Prefer --token-file or stdin")] = None,
    token_file: Annotated[Path | None, typer.Option("--token-file", help="File holding the token")] = None,
    output: OutputOpt = OutputFormat.json,
) -> None:
    """Check a token against the server and save it as your profile (0600)."""
    from stratus.client import profile
    from stratus.client._http import Transport
    from stratus.entities import Principal

    secret = token or (profile.read_token_file(token_file) if token_file else None)
    if secret is None and token_file is None:
        if sys.stdin.isatty():
            secret = typer.prompt("Token", hide_input=True)
        else:
            secret = sys.stdin.readline().strip()
    if not secret:
        stderr.print("error: no token given: use --token, --token-file or standard input")
        raise typer.Exit(EXIT_USAGE)
    transport = Transport(url, secret)
    try:
        me = Principal.from_response(transport.request("GET", "/api/v1/me", params={"login": "true"}))
    finally:
        transport.close()
    path = profile.save_profile(url.rstrip("/"), secret, workspace_name)
    stderr.print(f"Logged in to {url} as {me.user}; profile saved in {path}")
    emit(me, output, ("user", "is_server_admin", "token_workspace"))
