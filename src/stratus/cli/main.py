from __future__ import annotations

from typing import Annotated

import typer

from stratus._version import __version__
from stratus.cli import (
    access,
    data,
    datastore,
    environment,
    experiment,
    gc,
    job,
    login,
    mlflow,
    model,
    secret,
    server,
    workspace,
)

app = typer.Typer(
    name="stratus",
    help="Stratus: a self-hosted machine-learning platform shaped like Azure ML (az ml verbs and flags).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(server.app, name="server")
app.add_typer(workspace.app, name="workspace")
app.add_typer(access.user_app, name="user")
app.add_typer(access.token_app, name="token")
app.add_typer(access.role_app, name="role")
app.add_typer(access.audit_app, name="audit")
app.add_typer(mlflow.app, name="mlflow")
app.add_typer(experiment.app, name="experiment")
app.add_typer(job.app, name="job")
app.add_typer(model.app, name="model")
app.add_typer(secret.app, name="secret")
app.add_typer(datastore.app, name="datastore")
app.add_typer(data.app, name="data")
app.add_typer(environment.app, name="environment")
app.command("login")(login.login)
app.command("gc")(gc.gc)


def _version(value: bool) -> None:
    if value:
        print(__version__)
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit")
    ] = False,
) -> None:
    """Stratus command line."""


def main() -> None:
    app()
