"""What the versioned-asset groups (``data``, ``environment``) share: picking a version by number or
label, archiving and restoring, and reading a local path given on the command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

if TYPE_CHECKING:
    from stratus.client.assets import _VersionedAssetOperations
    from stratus.entities.assets import Data, Environment

A = TypeVar("A", "Data", "Environment")

LabelOpt = Annotated[str | None, typer.Option("--label", "-l", help="latest: the newest unarchived version")]
EveryVersionOpt = Annotated[str | None, typer.Option("--version", "-v", help="Default: every version")]


def from_here(path: str | None) -> str | None:
    """A local path given on the command line is relative to the current folder, not to the YAML's."""
    from stratus.specs.data import is_remote

    if path is None or is_remote(path) or path.lower().startswith("file:"):
        return path
    return str(Path(path).expanduser().resolve())


def check_version_or_label(version: str | None, label: str | None, *, required: bool = True) -> None:
    if version is not None and label is not None:
        raise typer.BadParameter("give --version or --label, not both", param_hint="--version")
    if required and version is None and label is None:
        raise typer.BadParameter("give --version or --label (e.g. --label latest)", param_hint="--version")


def set_archived(
    assets: _VersionedAssetOperations[A], name: str, version: str | None, label: str | None, *, archived: bool
) -> A | list[A]:
    """Archive or restore; what changed: the version, or every version when none was named."""
    check_version_or_label(version, label, required=False)
    if label is not None:
        # Resolved first: once archived, ``latest`` names another version.
        version = assets.get(name, label=label).version
    (assets.archive if archived else assets.restore)(name, version)
    if version is None:
        return list(assets.list(name, include_archived=True))
    return assets.get(name, version=version)
