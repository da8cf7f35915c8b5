"""The Typer app of the ``stratus`` command line; the console script (``stratus.cli:run``) hands it
everything but ``stratus --version``."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any

import typer
from typer._click import Command, Context
from typer.core import TyperGroup
from typer.models import TyperInfo

from stratus._version import __version__
from stratus.cli import gc, login

# Each group's module is imported and its commands built when the group is named on the command line:
# `stratus workspace list` builds one group, `stratus --help` (which lists them) every one.
GROUPS = {
    "server": ("stratus.cli.server", "app"),
    "workspace": ("stratus.cli.workspace", "app"),
    "user": ("stratus.cli.access", "user_app"),
    "token": ("stratus.cli.access", "token_app"),
    "role": ("stratus.cli.access", "role_app"),
    "audit": ("stratus.cli.access", "audit_app"),
    "mlflow": ("stratus.cli.mlflow", "app"),
    "experiment": ("stratus.cli.experiment", "app"),
    "job": ("stratus.cli.job", "app"),
    "model": ("stratus.cli.model", "app"),
    "secret": ("stratus.cli.secret", "app"),
    "datastore": ("stratus.cli.datastore", "app"),
    "data": ("stratus.cli.data", "app"),
    "environment": ("stratus.cli.environment", "app"),
}


class _Commands(MutableMapping[str, Command]):
    """The root's commands: those Typer built with it, then the groups, each built on first lookup (as
    ``add_typer`` would have). Listing the names builds nothing: Typer suggests close names from them."""

    def __init__(self, built: MutableMapping[str, Command]) -> None:
        self._built = dict(built)
        self._names = [*built, *(name for name in GROUPS if name not in built)]

    def __getitem__(self, name: str) -> Command:
        if name not in self._built:
            if name not in GROUPS:
                raise KeyError(name)
            module, attribute = GROUPS[name]
            group = getattr(importlib.import_module(module), attribute)
            self._built[name] = typer.main.get_group_from_info(
                TyperInfo(group, name=name),
                pretty_exceptions_short=app.pretty_exceptions_short,
                suggest_commands=app.suggest_commands,
                rich_markup_mode=app.rich_markup_mode,
            )
        return self._built[name]

    def __setitem__(self, name: str, command: Command) -> None:
        if name not in self._names:
            self._names.append(name)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)


class _Root(TyperGroup):
    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Commands(self.commands)

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.commands)  # the names only (TyperGroup's would build every group)


app = typer.Typer(
    name="stratus",
    cls=_Root,
    help="Stratus: a self-hosted machine-learning platform shaped like Azure ML (az ml verbs and flags).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
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
