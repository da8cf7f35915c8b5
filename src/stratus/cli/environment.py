"""``stratus environment``: environments the server builds with uv (Azure ML environment YAML, or
Stratus's ``python`` + ``pip`` form), their build logs and locks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stratus.cli._assets import EveryVersionOpt, LabelOpt, check_version_or_label, from_here, set_archived
from stratus.cli._common import (
    DownloadPathOpt,
    SetOpt,
    download_report,
    parse_sets,
    stderr,
    workspace_command,
)
from stratus.errors import NotFoundError, StratusError

if TYPE_CHECKING:
    from stratus.client import MLClient
    from stratus.entities.assets import Environment

app = typer.Typer(
    help="Environments: Azure ML environment YAML, or python + pip, built by the server with uv.",
    no_args_is_help=True,
)
COLUMNS = ("name", "version", "status", "python_version", "spec_hash", "is_archived")
NameOpt = Annotated[str, typer.Option("--name", "-n", help="Environment name")]
VersionOpt = Annotated[str, typer.Option("--version", "-v", help="Version")]


@app.command("create")
@workspace_command(COLUMNS)
def create(
    ml: MLClient,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Azure ML environment YAML")] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Overrides the YAML's name")] = None,
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="Overrides the YAML's; default: the next integer")
    ] = None,
    python: Annotated[str | None, typer.Option("--python", help='Python version, e.g. "3.11"')] = None,
    pip: Annotated[
        list[str] | None, typer.Option("--pip", help="A requirement line; repeat for more")
    ] = None,
    image: Annotated[str | None, typer.Option("--image", "-i", help="Base image (Azure form)")] = None,
    conda_file: Annotated[
        str | None, typer.Option("--conda-file", "-c", help="Conda YAML built on top of --image")
    ] = None,
    build_context: Annotated[
        str | None, typer.Option("--build-context", "-b", help="Docker build context folder or URI")
    ] = None,
    dockerfile_path: Annotated[
        str | None, typer.Option("--dockerfile-path", help="Inside the build context; default Dockerfile")
    ] = None,
    description: Annotated[str | None, typer.Option("--description", "-d")] = None,
    from_model: Annotated[
        str | None,
        typer.Option(
            "--from-model",
            help="azureml:<model>:<version> or @<alias>: the Python and packages it was saved with",
        ),
    ] = None,
    sets: SetOpt = None,
) -> Environment:
    """Register an environment version from a YAML file, or from --name with --python/--pip (or --image,
    --conda-file, --build-context, or --from-model). Building is a separate step: `stratus environment
    build`."""
    from stratus.specs import environment_from_fields, load_environment

    if from_model is not None:
        if not name or file is not None:
            raise typer.BadParameter(
                "--from-model goes with --name (and no --file)", param_hint="--from-model"
            )
        return ml.environments.create_from_model(name, from_model, version=version)
    if dockerfile_path is not None and build_context is None:
        raise typer.BadParameter(
            "--dockerfile-path goes with --build-context", param_hint="--dockerfile-path"
        )
    build = None
    if build_context is not None:
        build = {"path": from_here(build_context), "dockerfile_path": dockerfile_path or "Dockerfile"}
    fields = {
        "name": name,
        "version": version,
        "python": python,
        "pip": pip or None,
        "image": image,
        "conda_file": from_here(conda_file),
        "build": build,
        "description": description,
    }
    params_override = parse_sets(sets, file)  # --set without --file is a usage error
    if file is not None:
        environment = load_environment(file, params_override=params_override, **fields)
    elif name:
        environment = environment_from_fields(**fields)
    else:
        raise typer.BadParameter("give --file, or --name with --python/--pip or --image", param_hint="--file")
    return ml.environments.create_or_update(environment)


@app.command("list")
@workspace_command(COLUMNS)
def list_(
    ml: MLClient,
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Every version of this environment")
    ] = None,
    include_archived: Annotated[bool, typer.Option("--include-archived")] = False,
) -> list[Environment]:
    """List the newest version of each environment, or every version of one (--name)."""
    return list(ml.environments.list(name, include_archived=include_archived))


@app.command("show")
@workspace_command(COLUMNS)
def show(
    ml: MLClient,
    name: NameOpt,
    version: Annotated[str | None, typer.Option("--version", "-v")] = None,
    label: LabelOpt = None,
) -> Environment:
    """Show an environment version (by --version or --label) with its build status; Azure's curated
    names (AzureML-sklearn-1.5, ...) answer too."""
    check_version_or_label(version, label)
    return ml.environments.get(name, version=version, label=label)


@app.command("archive")
@workspace_command(COLUMNS)
def archive(
    ml: MLClient, name: NameOpt, version: EveryVersionOpt = None, label: LabelOpt = None
) -> Environment | list[Environment]:
    """Archive a version (or every version): hidden from lists and --label latest, kept by number."""
    return set_archived(ml.environments, name, version, label, archived=True)


@app.command("restore")
@workspace_command(COLUMNS)
def restore(
    ml: MLClient, name: NameOpt, version: EveryVersionOpt = None, label: LabelOpt = None
) -> Environment | list[Environment]:
    """Restore an archived version (or every version of the environment)."""
    return set_archived(ml.environments, name, version, label, archived=False)


@app.command("build")
@workspace_command(COLUMNS)
def build(
    ml: MLClient,
    name: NameOpt,
    version: VersionOpt,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait for the build to end (a failure exits 1)")
    ] = True,
    stream: Annotated[
        bool, typer.Option("--stream", help="Print the build log to stderr as it is written; waits")
    ] = False,
) -> Environment:
    """Build an environment version on the server (or find it in the build cache)."""
    if stream and not wait:
        raise typer.BadParameter(
            "--stream follows the build to its end; leave out --no-wait", param_hint="--stream"
        )
    if not stream:
        return ml.environments.build(name, version, wait=wait)
    started = ml.environments.build(name, version, wait=False)
    _print_build_log(ml, started)
    return _finished(ml, name, version)


def _print_build_log(ml: MLClient, started: Environment) -> None:
    try:
        for line in ml.environments.build_log(started.name, str(started.version)):
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
    except NotFoundError:
        if started.status == "Building":
            raise
        # A build this server's cache already held, without a log kept for it.
        stderr.print(f"no build log here for {started.name}:{started.version} (status {started.status})")
    except StratusError as exc:
        if exc.code != "TRANSPORT_ERROR":
            raise
        # E.g. a read timeout while uv was silent: the build goes on, so wait for it instead.
        stderr.print(f"the build log stopped ({exc.message}); waiting for the build to end")


def _finished(ml: MLClient, name: str, version: str) -> Environment:
    """The version once its build has ended; a failed build raises as ``build(wait=True)`` does."""
    from stratus.environments.errors import EnvironmentBuildError

    environment = ml.environments.get(name, version)
    if environment.status == "Building":  # the log stream stopped before the build ended
        return ml.environments.build(name, version, wait=True)  # joins the running build
    if environment.status == "Failed":  # uv's reason is in the log just printed: not a second time
        raise EnvironmentBuildError(
            f"environment {name}:{version} failed to build; the build log above says why",
            spec_hash=environment.spec_hash,
        )
    return environment


@app.command("download")
@workspace_command(("name", "version", "download_path"))
def download(
    ml: MLClient, name: NameOpt, version: VersionOpt, download_path: DownloadPathOpt = Path()
) -> dict[str, Any]:
    """Write the spec (environment.yml) and, once built, the lock (lock.txt) into <download-path>/<name>/."""
    target = ml.environments.download(name, version, download_path=download_path)
    return download_report(target, name=name, version=version)
