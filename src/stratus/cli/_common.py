"""Options every command takes after its verb, output rendering and exit codes; ``workspace_command``
gives a command all three.

The SDK (and with it httpx and pydantic) is imported when a command connects, not with this module: a
group's module is imported to build its commands, also for ``--help``."""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer

from stratus.errors import AuthenticationError, InvalidInputError, NotFoundError, StratusError

if TYPE_CHECKING:
    from rich.console import Console

    from stratus.client import MLClient

P = ParamSpec("P")
R = TypeVar("R")

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
# Error codes of work that ran and failed: exit 1 (an error), not 2 (usage), whatever their HTTP status.
FAILED_WORK_CODES = frozenset({"ENVIRONMENT_BUILD_FAILED"})


class _Stderr:
    """Rich's console on stderr, made on first use: `stratus server start` imports this module (through
    the root's own commands) and needs Rich only to say why a server did not start."""

    @functools.cached_property
    def console(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, highlight=False)

    def print(self, *objects: Any, **kwargs: Any) -> None:
        self.console.print(*objects, **kwargs)


stderr = _Stderr()
# Clients made by the running command; ``handle_errors`` closes them when it returns.
_open_clients: list[MLClient] = []


class OutputFormat(StrEnum):
    """az's output formats."""

    json = "json"
    jsonc = "jsonc"
    yaml = "yaml"
    tsv = "tsv"
    table = "table"
    none = "none"


OutputOpt = Annotated[
    OutputFormat,
    typer.Option("--output", "-o", help="json (the API's body), jsonc, yaml, tsv, table or none"),
]
QueryOpt = Annotated[
    str | None,
    typer.Option("--query", help="JMESPath query over the JSON result, as az's (e.g. --query token -o tsv)"),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Set a field of the --file YAML before it is checked: key.path=value (list items as "
        "key[0]; JSON values such as 3, true or {...}); repeatable",
    ),
]
# The --query of the running command, compiled: ``emit`` applies it to whatever the command prints.
_QUERY: ContextVar[Any] = ContextVar("stratus_cli_query", default=None)
WorkspaceOpt = Annotated[
    str | None,
    typer.Option("--workspace-name", "-w", help="Workspace; default from STRATUS_WORKSPACE or login"),
]
ResourceGroupOpt = Annotated[
    str | None, typer.Option("--resource-group", "-g", help="Accepted for az compatibility; ignored")
]
SubscriptionOpt = Annotated[
    str | None, typer.Option("--subscription", help="Accepted for az compatibility; ignored")
]
DownloadPathOpt = Annotated[Path, typer.Option("--download-path", "-p", help="Folder; default: here")]
UrlOpt = Annotated[str | None, typer.Option("--url", help="Server URL; default STRATUS_URL, login or local")]


def client(
    workspace: str | None = None,
    url: str | None = None,
    resource_group: str | None = None,
    subscription: str | None = None,
) -> MLClient:
    from stratus.client import MLClient
    from stratus.client import profile as client_profile

    for flag, value in (("--resource-group", resource_group), ("--subscription", subscription)):
        if value:
            stderr.print(f"warning: {flag} is an Azure option; Stratus ignores it")
    connection = client_profile.resolve(url, None, workspace)
    ml = MLClient(connection.token, workspace_name=connection.workspace or "default", endpoint=connection.url)
    _open_clients.append(ml)
    return ml


def parse_sets(sets: list[str] | None, file: Path | None) -> list[dict[str, Any]]:
    """``--set key.path=value`` options as azure-ai-ml's ``params_override`` (values JSON when they parse
    as JSON, else the text as given)."""
    if not sets:
        return []
    if file is None:
        raise typer.BadParameter("--set changes the YAML given with --file", param_hint="--set")
    parsed = []
    for item in sets:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{item!r}: use key.path=value", param_hint="--set")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        parsed.append({key.strip(): value})
    return parsed


def files_under(folder: Path) -> list[str]:
    """What a download left in ``folder``, as sorted relative paths (the ``files`` of its report)."""
    return sorted(str(f.relative_to(folder)) for f in folder.rglob("*") if f.is_file())


def download_report(target: Path, **ids: object) -> dict[str, Any]:
    """What a download command prints: what was downloaded (``ids``), where, and the files it left."""
    return {**ids, "download_path": str(target), "files": files_under(target)}


def _plain(value: Any) -> Any:
    from stratus.entities._base import Entity

    if isinstance(value, Entity):
        return value.as_dict()
    return value


def emit(value: Any, output: OutputFormat, columns: Sequence[str] = ()) -> None:
    """Print a result, after the command's ``--query`` if any: ``json`` the API body exactly, ``jsonc``
    the same in colour, ``yaml``, ``tsv`` (values only, as az prints them), ``table`` (``columns``, or
    every key) or nothing (``none``)."""
    items: Any = [_plain(v) for v in value] if isinstance(value, list) else _plain(value)
    query = _QUERY.get()
    if query is not None:
        items = apply_query(query, items)
        columns = ()  # the query shaped the result: show what it kept
    if output is OutputFormat.none:
        return
    if output is OutputFormat.json:
        sys.stdout.write(json.dumps(items, indent=2, default=str) + "\n")
    elif output is OutputFormat.jsonc:
        from rich.console import Console
        from rich.json import JSON

        Console(highlight=False, soft_wrap=True).print(JSON(json.dumps(items, default=str)))
    elif output is OutputFormat.yaml:
        import yaml

        sys.stdout.write(yaml.safe_dump(_json_safe(items), sort_keys=False, allow_unicode=True))
    elif output is OutputFormat.tsv:
        sys.stdout.writelines(line + "\n" for line in tsv_lines(_json_safe(items)))
    else:
        _print_table(items, columns)


def check_query(query: str | None) -> Any:
    """``query`` compiled (None without one); a ``--query`` that is not JMESPath is a usage error (2)."""
    if not query:
        return None
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.compile(query)
    except JMESPathError as exc:
        raise _query_error(query, exc) from None


def _query_error(query: str, exc: Exception) -> InvalidInputError:
    return InvalidInputError(f"--query {query!r} is not a valid JMESPath query: {exc}", field="query")


def current_query() -> str | None:
    """The running command's ``--query``, if it gave one."""
    compiled = _QUERY.get()
    return None if compiled is None else str(compiled.expression)


@contextlib.contextmanager
def querying(query: str | None) -> Iterator[None]:
    """Within it, ``emit`` applies ``query`` (a command's ``--query``), compiled here first: a bad query
    is refused before the command does anything (a create must not happen only to fail on printing)."""
    token = _QUERY.set(check_query(query))
    try:
        yield
    finally:
        _QUERY.reset(token)


def apply_query(compiled: Any, items: Any) -> Any:
    """az's ``--query``: JMESPath over the result as JSON (dates as the strings JSON shows)."""
    from jmespath.exceptions import JMESPathError

    try:
        return compiled.search(_json_safe(items))
    except JMESPathError as exc:  # valid syntax that fails on this result (a function on a wrong type)
        raise _query_error(str(compiled.expression), exc) from None


def _json_safe(items: Any) -> Any:
    return json.loads(json.dumps(items, default=str))


def tsv_lines(items: Any) -> list[str]:
    """az's tsv: a list gives a line per item; an object its scalar values in key order, tab-separated
    (nested objects and lists left out); a scalar itself; null nothing."""
    rows = items if isinstance(items, list) else [items]
    lines = []
    for row in rows:
        if isinstance(row, dict):
            values = [row[key] for key in sorted(row) if not isinstance(row[key], dict | list)]
            lines.append("\t".join(_tsv_value(v) for v in values))
        elif isinstance(row, list):
            lines.append("\t".join(_tsv_value(v) for v in row if not isinstance(v, dict | list)))
        elif row is not None:
            lines.append(_tsv_value(row))
    return lines


def _tsv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).replace("\t", " ").replace("\n", " ")


def _print_table(items: Any, columns: Sequence[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    rows = items if isinstance(items, list) else [items]
    table = Table()
    if not all(isinstance(row, dict) for row in rows):  # scalars, e.g. after --query "[].name"
        table.add_column("Result", overflow="fold")
        for row in rows:
            table.add_row(_cell(row))
        Console().print(table)
        return
    keys = list(columns) or sorted({k for row in rows for k in row})
    for key in keys:
        table.add_column(key, overflow="fold")  # wrap long values (URIs), never cut them
    for row in rows:
        table.add_row(*(_cell(_lookup(row, k), k) for k in keys))
    Console().print(table)


def _lookup(row: dict[str, Any], key: str) -> Any:
    """``row[key]``, or along a dotted path (``creation_context.created_by``)."""
    if key in row:
        return row[key]
    value: Any = row
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


_HEX_ID = re.compile(r"[0-9a-f]{24,}")
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def _cell(value: Any, key: str = "") -> str:
    """A value as a table shows it: local ISO times to the second, sizes in KB/MB/GB, long hex ids and
    hashes shortened (``-o json`` has them whole), lists joined, mappings as JSON."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and (key == "size" or key.endswith(("_bytes", ".size"))):
        return human_size(value)
    text = str(value)
    if _ISO_TIME.fullmatch(text):
        return local_time(text)
    if _HEX_ID.fullmatch(text):
        return text[:12] + "…"
    return text


def human_size(size: int) -> str:
    amount = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if amount < 1024 or unit == "TB":
            return f"{int(amount)} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{size} B"  # unreachable: the loop returns at TB


def local_time(text: str) -> str:
    """An ISO-8601 time with a zone, in this machine's zone, to the second."""
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return moment.astimezone().replace(microsecond=0).isoformat()


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Errors to stderr with exit codes: 1 error, 2 usage, 3 not found."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except NotFoundError as exc:
            _report(exc)
            raise typer.Exit(EXIT_NOT_FOUND) from None
        except InvalidInputError as exc:
            _report(exc)
            # A build that ran and failed is an error (1), though the server answers it as bad input.
            raise typer.Exit(EXIT_ERROR if exc.code in FAILED_WORK_CODES else EXIT_USAGE) from None
        except StratusError as exc:
            _report(exc)
            raise typer.Exit(EXIT_ERROR) from None
        finally:
            while _open_clients:
                _open_clients.pop().close()

    return wrapper


def _report(exc: StratusError) -> None:
    from rich.markup import escape  # messages quote user input: never read it as markup

    field = f" (field: {exc.field})" if exc.field else ""
    message = exc.message
    if isinstance(exc, AuthenticationError):
        # The server's words are for any HTTP client ("send 'Authorization: Bearer …'"); a CLI user
        # signs in instead.
        reason = message.split(": send 'Authorization", 1)[0].split("; create a new one", 1)[0]
        message = f"{reason}: run 'stratus login' or set STRATUS_TOKEN"
    stderr.print(f"[red]error[/red] {exc.code}: {escape(message)}{field}", markup=True, soft_wrap=True)


def _az_option(name: str, annotation: Any, default: Any = None) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


# In the order ``--help`` lists them, after the command's own options.
AZ_OPTIONS = (
    _az_option("workspace_name", WorkspaceOpt),
    _az_option("output", OutputOpt, OutputFormat.json),
    _az_option("query", QueryOpt),
    _az_option("url", UrlOpt),
    _az_option("resource_group", ResourceGroupOpt),
    _az_option("subscription", SubscriptionOpt),
)


def workspace_command(
    columns: Sequence[str] = (), *, output: bool = True
) -> Callable[[Callable[..., object]], Callable[..., None]]:
    """Make ``fn(ml, <own options>)`` a Typer callback (under ``@app.command``) that takes the az options
    after its own, connects, calls ``fn`` with the client and prints what it returns (``columns`` in a
    table; nothing for None), errors as ``handle_errors`` reports them.

    ``output=False`` leaves out ``--output`` (a command that prints nothing on stdout). A command that needs
    one of the az options' values declares it itself (where ``--help`` should list it) and receives it."""

    def decorate(fn: Callable[..., object]) -> Callable[..., None]:
        own = [_evaluated(p, fn) for p in list(inspect.signature(fn).parameters.values())[1:]]  # after ml
        declared = {p.name for p in own}
        wanted = [p for p in AZ_OPTIONS if output or p.name not in ("output", "query")]
        params = _with_az_options(own, wanted)

        @functools.wraps(fn)
        def command(**kwargs: Any) -> None:
            az = {p.name: kwargs[p.name] if p.name in declared else kwargs.pop(p.name) for p in wanted}
            with querying(az.get("query")):
                ml = client(az["workspace_name"], az["url"], az["resource_group"], az["subscription"])
                result = fn(ml, **kwargs)
                if result is not None:
                    emit(result, az.get("output", OutputFormat.json), columns)

        # Typer reads the options from the signature and resolves annotations against fn's module, so
        # these are the objects themselves.
        command.__signature__ = inspect.Signature(params, return_annotation=None)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params} | {"return": None}
        return handle_errors(command)

    return decorate


def _evaluated(param: inspect.Parameter, fn: Callable[..., object]) -> inspect.Parameter:
    """``param`` with its annotation evaluated in ``fn``'s module, as ``inspect.signature(eval_str=True)``
    does; that would evaluate ``ml: MLClient`` and the return annotation too, which modules name only
    for type checkers so that building the command tree does not import the SDK."""
    if not isinstance(param.annotation, str):
        return param
    return param.replace(annotation=eval(param.annotation, getattr(fn, "__globals__", {})))  # noqa: S307


def _with_az_options(
    own: list[inspect.Parameter], wanted: list[inspect.Parameter]
) -> list[inspect.Parameter]:
    """The command's own options, then the az options it does not declare itself; one it does declare
    stays where it is, and those before it in ``AZ_OPTIONS`` go just before it (their usual order)."""
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
    declared = {p.name for p in own}
    for i, option in enumerate(wanted):
        if option.name in declared:
            continue
        names = [p.name for p in params]
        after = [p.name for p in wanted[i + 1 :] if p.name in declared]
        params.insert(names.index(after[0]) if after else len(params), option)
    return params
