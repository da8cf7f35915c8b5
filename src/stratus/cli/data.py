"""``stratus data``: data assets, immutable versions of a file or folder (local ones are uploaded)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stratus.cli._common import (
    DownloadPathOpt,
    OutputFormat,
    OutputOpt,
    ResourceGroupOpt,
    SubscriptionOpt,
    UrlOpt,
    WorkspaceOpt,
    client,
    emit,
    files_under,
    handle_errors,
)
from stratus.client import MLClient
from stratus.entities.assets import Data
from stratus.specs import data_from_fields, load_data
from stratus.specs.data import is_remote

app = typer.Typer(
    help="Data assets: Azure ML data YAML (uri_file, uri_folder, mltable).", no_args_is_help=True
)
COLUMNS = ("name", "version", "type", "size", "path", "is_archived")
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Data asset name")]
VersionOpt = Annotated[str | None, typer.Option("--version", "-v", help="Version")]
LabelOpt = Annotated[str | None, typer.Option("--label", "-l", help="latest: the newest unarchived version")]


def from_here(path: str | None) -> str | None:
    """A local path given on the command line is relative to the current folder, not to the YAML's."""
    if path is None or is_remote(path) or path.lower().startswith("file:"):
        return path
    return str(Path(path).expanduser().resolve())


def check_version_or_label(version: str | None, label: str | None, *, required: bool = True) -> None:
    if version is not None and label is not None:
        raise typer.BadParameter("give --version or --label, not both", param_hint="--version")
    if required and version is None and label is None:
        raise typer.BadParameter("give --version or --label (e.g. --label latest)", param_hint="--version")


@app.command("create")
@handle_errors
def create(
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Azure ML data YAML")] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Overrides the YAML's name")] = None,
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="Overrides the YAML's; default: the next integer")
    ] = None,
    path: Annotated[str | None, typer.Option("--path", "-p", help="Local file/folder or URI")] = None,
    data_type: Annotated[
        str | None, typer.Option("--type", "-t", help="uri_file, uri_folder (default) or mltable")
    ] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Register a data version from a YAML file (or --name and --path); local files are uploaded."""
    fields = {
        "name": name,
        "version": version,
        "path": from_here(path),
        "type": data_type,
        "description": description,
    }
    if file is not None:
        data = load_data(file, **fields)
    elif name and path:
        data = data_from_fields(**fields)
    else:
        raise typer.BadParameter("give --file, or --name and --path", param_hint="--file")
    emit(
        client(workspace_name, url, resource_group, subscription).data.create_or_update(data), output, COLUMNS
    )


@app.command("list")
@handle_errors
def list_(
    name: Annotated[str | None, typer.Option("--name", "-n", help="Every version of this asset")] = None,
    include_archived: Annotated[bool, typer.Option("--include-archived")] = False,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """List the newest version of each data asset, or every version of one (--name)."""
    ml = client(workspace_name, url, resource_group, subscription)
    emit(list(ml.data.list(name, include_archived=include_archived)), output, COLUMNS)


@app.command("show")
@handle_errors
def show(
    name: NameOpt,
    version: VersionOpt = None,
    label: LabelOpt = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Show a data version (by --version or --label), with its size, hash and profile."""
    check_version_or_label(version, label)
    ml = client(workspace_name, url, resource_group, subscription)
    emit(ml.data.get(name, version=version, label=label), output, COLUMNS)


@app.command("archive")
@handle_errors
def archive(
    name: NameOpt,
    version: Annotated[str | None, typer.Option("--version", "-v", help="Default: every version")] = None,
    label: LabelOpt = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Archive a version (or every version): hidden from lists and --label latest, kept by number."""
    check_version_or_label(version, label, required=False)
    ml = client(workspace_name, url, resource_group, subscription)
    emit(_set_archived(ml, name, version, label, archived=True), output, COLUMNS)


@app.command("restore")
@handle_errors
def restore(
    name: NameOpt,
    version: Annotated[str | None, typer.Option("--version", "-v", help="Default: every version")] = None,
    label: LabelOpt = None,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Restore an archived version (or every version of the asset)."""
    check_version_or_label(version, label, required=False)
    ml = client(workspace_name, url, resource_group, subscription)
    emit(_set_archived(ml, name, version, label, archived=False), output, COLUMNS)


def _set_archived(
    ml: MLClient, name: str, version: str | None, label: str | None, *, archived: bool
) -> Data | list[Data]:
    """Archive or restore; what changed: the version, or every version when none was named."""
    if label is not None:
        # Resolved first: once archived, ``latest`` names another version.
        version = ml.data.get(name, label=label).version
    (ml.data.archive if archived else ml.data.restore)(name, version)
    if version is None:
        return list(ml.data.list(name, include_archived=True))
    return ml.data.get(name, version=version)


@app.command("download")
@handle_errors
def download(
    name: NameOpt,
    version: VersionOpt = None,
    label: LabelOpt = None,
    download_path: DownloadPathOpt = Path(),
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Download a data version's files into <download-path>/<name>/."""
    check_version_or_label(version, label)
    ml = client(workspace_name, url, resource_group, subscription)
    data = ml.data.get(name, version=version, label=label)  # a label resolves to the version reported
    target = ml.data.download_to(data, download_path / name)
    emit(
        {"name": name, "version": data.version, "download_path": str(target), "files": files_under(target)},
        output,
        ("name", "version", "download_path"),
    )
