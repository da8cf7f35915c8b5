"""``stratus gc``: purge soft-deleted runs and experiments for good (as ``mlflow gc`` does)."""

from __future__ import annotations

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
)


@handle_errors
def gc(
    older_than: Annotated[
        str | None, typer.Option("--older-than", help="Only what was deleted this long ago, e.g. 30d, 12h")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would be purged; purge nothing")
    ] = False,
    workspace_name: WorkspaceOpt = None,
    output: OutputOpt = OutputFormat.json,
    url: UrlOpt = None,
    resource_group: ResourceGroupOpt = None,
    subscription: SubscriptionOpt = None,
) -> None:
    """Purge soft-deleted runs and experiments of a workspace and their artifacts.

    Runs and experiments whose files a registered model version uses are kept and listed under "kept".
    """
    ml = client(workspace_name, url, resource_group, subscription)
    emit(
        ml.gc(older_than=older_than, dry_run=dry_run), output, ("workspace", "dry_run", "runs", "experiments")
    )
