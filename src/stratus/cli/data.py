"""``stratus data``: data assets, immutable versions of a file or folder (local ones are uploaded)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stratus.cli._assets import EveryVersionOpt, LabelOpt, check_version_or_label, from_here, set_archived
from stratus.cli._common import (
    DownloadPathOpt,
    OutputFormat,
    OutputOpt,
    SetOpt,
    current_query,
    download_report,
    emit,
    parse_sets,
    workspace_command,
)

if TYPE_CHECKING:
    from stratus.client import MLClient
    from stratus.entities.assets import Data

app = typer.Typer(
    help="Data assets: Azure ML data YAML (uri_file, uri_folder, mltable).", no_args_is_help=True
)
COLUMNS = ("name", "version", "type", "size", "path", "is_archived")
PROFILE_COLUMNS = ("name", "dtype", "missing", "distinct", "min", "max", "mean")
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Data asset name")]
VersionOpt = Annotated[str | None, typer.Option("--version", "-v", help="Version")]


@app.command("create")
@workspace_command(COLUMNS)
def create(
    ml: MLClient,
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
    sets: SetOpt = None,
) -> Data:
    """Register a data version from a YAML file (or --name and --path); local files are uploaded."""
    from stratus.specs import data_from_fields, load_data

    fields = {
        "name": name,
        "version": version,
        "path": from_here(path),
        "type": data_type,
        "description": description,
    }
    params_override = parse_sets(sets, file)  # --set without --file is a usage error
    if file is not None:
        data = load_data(file, params_override=params_override, **fields)
    elif name and path:
        data = data_from_fields(**fields)
    else:
        raise typer.BadParameter("give --file, or --name and --path", param_hint="--file")
    return ml.data.create_or_update(data)


@app.command("list")
@workspace_command(COLUMNS)
def list_(
    ml: MLClient,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Every version of this asset")] = None,
    include_archived: Annotated[bool, typer.Option("--include-archived")] = False,
) -> list[Data]:
    """List the newest version of each data asset, or every version of one (--name)."""
    return list(ml.data.list(name, include_archived=include_archived))


@app.command("show")
@workspace_command(COLUMNS)
def show(
    ml: MLClient,
    name: NameOpt,
    version: VersionOpt = None,
    label: LabelOpt = None,
    output: OutputOpt = OutputFormat.json,
) -> Data | None:
    """Show a data version (by --version or --label), with its size, hash and profile."""
    check_version_or_label(version, label)
    data = ml.data.get(name, version=version, label=label)
    if output is not OutputFormat.table or current_query() is not None:
        return data
    emit(data, output, COLUMNS)
    profile = data.profile or {}
    fields = profile.get("fields")
    if isinstance(fields, list) and fields:
        # The profile's rows and columns, as the studio's data page shows them.
        print(f"Profile: {profile.get('rows', '?')} rows, {profile.get('columns', len(fields))} columns")
        emit(fields, output, PROFILE_COLUMNS)
    return None


@app.command("archive")
@workspace_command(COLUMNS)
def archive(
    ml: MLClient, name: NameOpt, version: EveryVersionOpt = None, label: LabelOpt = None
) -> Data | list[Data]:
    """Archive a version (or every version): hidden from lists and --label latest, kept by number."""
    return set_archived(ml.data, name, version, label, archived=True)


@app.command("restore")
@workspace_command(COLUMNS)
def restore(
    ml: MLClient, name: NameOpt, version: EveryVersionOpt = None, label: LabelOpt = None
) -> Data | list[Data]:
    """Restore an archived version (or every version of the asset)."""
    return set_archived(ml.data, name, version, label, archived=False)


@app.command("download")
@workspace_command(("name", "version", "download_path"))
def download(
    ml: MLClient,
    name: NameOpt,
    version: VersionOpt = None,
    label: LabelOpt = None,
    download_path: DownloadPathOpt = Path(),
) -> dict[str, Any]:
    """Download a data version's files into <download-path>/<name>/."""
    check_version_or_label(version, label)
    data = ml.data.get(name, version=version, label=label)  # a label resolves to the version reported
    target = ml.data.download_to(data, download_path / name)
    return download_report(target, name=name, version=data.version)
