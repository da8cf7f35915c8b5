"""``stratus gc``: purge soft-deleted runs and experiments for good (as ``mlflow gc`` does)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from stratus.cli._common import workspace_command

if TYPE_CHECKING:
    from stratus.client import MLClient


@workspace_command(("workspace", "dry_run", "runs", "experiments"))
def gc(
    ml: MLClient,
    older_than: Annotated[
        str | None, typer.Option("--older-than", help="Only what was deleted this long ago, e.g. 30d, 12h")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would be purged; purge nothing")
    ] = False,
    uploads_older_than: Annotated[
        str | None,
        typer.Option("--uploads-older-than", help="Sweep what killed uploads left this long ago (1d)"),
    ] = None,
) -> dict[str, Any]:
    """Purge soft-deleted runs and experiments of a workspace and their artifacts, and sweep what
    killed uploads left (counted under "upload_leftovers").

    Runs and experiments whose files a registered model version uses are kept and listed under "kept".
    """
    return ml.gc(older_than=older_than, dry_run=dry_run, uploads_older_than=uploads_older_than)
