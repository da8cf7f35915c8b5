from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Run the workspace server.", no_args_is_help=True)


@app.command("start")
def start(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8765)")] = None,
    home: Annotated[
        Path | None, typer.Option(help="Home folder (default $STRATUS_HOME or ~/.stratus)")
    ] = None,
    ssl_certfile: Annotated[Path | None, typer.Option("--ssl-certfile", help="TLS certificate (PEM)")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option("--ssl-keyfile", help="TLS private key (PEM)")] = None,
    insecure: Annotated[bool, typer.Option(help="Allow a non-loopback --host without TLS")] = False,
) -> None:
    """Serve every workspace of the home folder in the foreground until Ctrl-C or SIGTERM."""
    from stratus.config import Settings
    from stratus.secrets.master_key import MasterKeyError
    from stratus.server.run import serve
    from stratus.server.state import StartupError

    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if home is not None:
        overrides["home"] = home
    settings = Settings(**overrides)  # type: ignore[arg-type]
    try:
        serve(settings, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile, insecure=insecure)
    except (StartupError, MasterKeyError) as exc:
        from stratus.cli._common import stderr  # Rich, only to say why the server did not start

        stderr.print(f"[red]error[/red] {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
