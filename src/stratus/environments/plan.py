"""The build plan: one normal form of an environment's Python dependencies, whatever spec it came from.

A plan is what the builder needs and nothing else: a Python minor version, PEP 508 requirement lines
(normalised and sorted), package indexes and constraints. Its ``spec_hash`` keys the environment cache,
so two specs that differ only in order, spacing or name spelling share one build.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from stratus.errors import InvalidInputError

DEFAULT_PYTHON = "3.11"
# Bump when the canonical form changes meaning, so old cache entries are never mistaken for new ones.
PLAN_FORMAT = 1
# Added to every plan without mlflow so scripts can log to the tracking server.
LOGGING_PACKAGE = "mlflow-skinny"
_LOGGING_NAMES = frozenset({"mlflow", "mlflow-skinny"})

# Credentials for private indexes come from the key vault at build time; plans keep the placeholder.
SECRET_PLACEHOLDER = re.compile(r"\$\{\{\s*secrets\.([A-Za-z][A-Za-z0-9_-]{0,126})\s*\}\}")

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_REQUIREMENT = re.compile(rf"^(?P<name>{_NAME})\s*(?:\[(?P<extras>[^\]]*)\])?\s*(?P<rest>.*)$")
_CLAUSE = r"(?:===|==|!=|~=|<=|>=|<|>)[A-Za-z0-9.*+!_-]+"
_SPECIFIER = re.compile(rf"^{_CLAUSE}(?:,{_CLAUSE})*$")
_PYTHON = re.compile(r"^(?:python)?(?P<minor>\d+\.\d+)(?:\.\d+|\.\*)?$")
# Direct references a server may fetch; local paths (file:, relative) would read the server's own disk.
_DIRECT_URL = re.compile(r"^(?:https?|git\+https)://\S+$")
_INDEX_URL = re.compile(r"^https?://\S+$")
_INDEX_OPTION = re.compile(
    r"^(?P<option>--index-url|--extra-index-url|-i)(?:\s*=\s*|\s+|(?<=-i))(?P<url>\S+)$"
)
_TRAILING_OPTION = re.compile(r"\s(-{1,2}[A-Za-z][A-Za-z0-9-]*)")
_COMMENT = re.compile(r"(?:^|\s)#.*$")


def canonical_name(name: str) -> str:
    """PEP 503 normal form: ``Scikit_Learn`` and ``scikit-learn`` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class BuildPlan:
    """What to build. Use the ``plan_from_*`` functions: they validate and normalise."""

    python: str
    requirements: tuple[str, ...]
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    # Set for plans whose index URLs need vault secrets: the workspace whose secrets they are. A build that
    # used one workspace's credentials (private packages) is then never another workspace's cache hit.
    scope: str | None = None
    # Where the plan came from and conda packages left out on purpose: shown to users, never hashed.
    origin: str = field(default="", compare=False)
    dropped: tuple[str, ...] = field(default=(), compare=False)

    def canonical(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "python": self.python,
            "requirements": sorted(set(self.requirements)),
            "constraints": sorted(set(self.constraints)),
            "index_url": self.index_url,
            # Order kept: with uv's first-index strategy it decides where a package comes from.
            "extra_index_urls": list(dict.fromkeys(self.extra_index_urls)),
            **({"scope": self.scope} if self.scope else {}),
        }

    @cached_property
    def spec_hash(self) -> str:
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def secret_names(self) -> tuple[str, ...]:
        """Names of the vault secrets the index URLs need, sorted."""
        urls = [self.index_url or "", *self.extra_index_urls]
        return tuple(sorted({m.group(1) for url in urls for m in SECRET_PLACEHOLDER.finditer(url)}))

    def to_dict(self) -> dict[str, Any]:
        return {
            "python": self.python,
            "requirements": list(self.requirements),
            "index_url": self.index_url,
            "extra_index_urls": list(self.extra_index_urls),
            "constraints": list(self.constraints),
            "scope": self.scope,
            "origin": self.origin,
            "dropped": list(self.dropped),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BuildPlan:
        return cls(
            python=str(data["python"]),
            requirements=tuple(data.get("requirements") or ()),
            index_url=data.get("index_url"),
            extra_index_urls=tuple(data.get("extra_index_urls") or ()),
            constraints=tuple(data.get("constraints") or ()),
            scope=data.get("scope"),
            origin=str(data.get("origin") or ""),
            dropped=tuple(data.get("dropped") or ()),
        )


def plan_from_pip(
    python: str | None,
    requirements: Sequence[str],
    *,
    constraints: Sequence[str] = (),
    origin: str = "pip requirements",
    field: str = "requirements",
) -> BuildPlan:
    """A plan from requirement lines (the native form). Lines may carry ``--index-url``,
    ``--extra-index-url`` and ``-i``; any other pip option is refused."""
    parsed = RequirementLines(field=field, origin=origin)
    parsed.add(requirements)
    return make_plan(
        normalize_python(python, field="python", origin=origin),
        parsed,
        constraints=[
            normalize_requirement(c, field=field, origin=origin) for c in _logical_lines(constraints)
        ],
        origin=origin,
    )


def make_plan(
    python: str,
    parsed: RequirementLines,
    *,
    constraints: Sequence[str] = (),
    origin: str,
    dropped: Sequence[str] = (),
) -> BuildPlan:
    requirements = set(parsed.requirements)
    if not any(requirement_name(r) in _LOGGING_NAMES for r in requirements):
        requirements.add(LOGGING_PACKAGE)
    return BuildPlan(
        python=python,
        requirements=tuple(sorted(requirements)),
        index_url=parsed.index_url,
        extra_index_urls=tuple(dict.fromkeys(parsed.extra_index_urls)),
        constraints=tuple(sorted(set(constraints))),
        origin=origin,
        dropped=tuple(sorted(set(dropped))),
    )


def normalize_python(value: str | None, *, field: str, origin: str) -> str:
    """``"3.11"``, ``"3.11.7"``, ``"3.11.*"`` → ``"3.11"``; ``None`` → the default."""
    if value is None or not str(value).strip():
        return DEFAULT_PYTHON
    text = str(value).strip().lstrip("=").strip()
    match = _PYTHON.match(text)
    if not match:
        raise InvalidInputError(
            f"{origin}: python version {value!r} is not a version like '3.11' or '3.11.7'", field=field
        )
    return match.group("minor")


class RequirementLines:
    """Requirement lines being collected from one or more sources, index options split out."""

    def __init__(self, *, field: str, origin: str) -> None:
        self.field = field
        self.origin = origin
        self.requirements: list[str] = []
        self.index_url: str | None = None
        self.extra_index_urls: list[str] = []

    def add(self, lines: Iterable[str]) -> None:
        for line in _logical_lines(lines):
            if line.startswith("-"):
                self._add_option(line)
            else:
                self.requirements.append(normalize_requirement(line, field=self.field, origin=self.origin))

    def _add_option(self, line: str) -> None:
        # one spelling of each placeholder, so spacing inside ${{ }} changes neither parsing nor the hash
        line = SECRET_PLACEHOLDER.sub(lambda m: "${{secrets." + m.group(1) + "}}", line)
        match = _INDEX_OPTION.match(line)
        if not match:
            option = re.split(r"[\s=]", line, maxsplit=1)[0]
            raise InvalidInputError(
                f"{self.origin}: pip option {option!r} is not supported; requirement lines may only carry "
                "--index-url, --extra-index-url and -i",
                field=self.field,
            )
        url = _validate_index_url(match.group("url"), field=self.field, origin=self.origin)
        if match.group("option") == "--extra-index-url":
            self.extra_index_urls.append(url)
        elif self.index_url not in (None, url):
            raise InvalidInputError(
                f"{self.origin}: two different --index-url values; give one and add the others "
                "with --extra-index-url",
                field=self.field,
            )
        else:
            self.index_url = url


def normalize_requirement(line: str, *, field: str, origin: str) -> str:
    """One PEP 508 line in a stable spelling: canonical name, sorted extras, no spaces in the specifier."""
    text = line.strip()
    option = _TRAILING_OPTION.search(text)
    if option:
        raise InvalidInputError(
            f"{origin}: pip option {option.group(1)!r} in {text!r} is not supported; requirement lines may "
            "only carry --index-url, --extra-index-url and -i",
            field=field,
        )
    match = _REQUIREMENT.match(text)
    if not match:
        raise InvalidInputError(
            f"{origin}: {text!r} is not a requirement; write 'name', 'name==1.2' or 'name @ https://…' "
            "(local paths are not installable on a server)",
            field=field,
        )
    name = canonical_name(match.group("name"))
    extras = match.group("extras")
    if extras is not None:
        names = sorted({canonical_name(e.strip()) for e in extras.split(",") if e.strip()})
        name += f"[{','.join(names)}]" if names else ""
    rest = match.group("rest").strip()
    if rest.startswith("@"):
        # In a URL requirement the marker needs a space before ';' (PEP 508), so ';' inside URLs survives.
        url, *marker_part = re.split(r"\s+;", rest[1:].strip(), maxsplit=1)
        url, marker = url.strip(), "".join(marker_part)
        if not _DIRECT_URL.match(url):
            raise InvalidInputError(
                f"{origin}: {text!r}: a direct reference must be an http(s) or git+https URL", field=field
            )
        return name + " @ " + url + _marker_suffix(marker)
    specifier, _, marker = rest.partition(";")
    specifier = re.sub(r"\s+", "", specifier)
    if specifier.startswith("(") and specifier.endswith(")"):
        specifier = specifier[1:-1]
    if specifier and not _SPECIFIER.match(specifier):
        raise InvalidInputError(
            f"{origin}: {text!r} has an invalid version specifier {specifier!r} (PEP 440, e.g. '>=1.2,<2')",
            field=field,
        )
    if not specifier and rest and not rest.startswith(";"):
        raise InvalidInputError(f"{origin}: {text!r} is not a requirement line", field=field)
    return name + ",".join(sorted(specifier.split(","))) + _marker_suffix(marker)


def requirement_name(requirement: str) -> str:
    match = _REQUIREMENT.match(requirement)
    return canonical_name(match.group("name")) if match else ""


def _marker_suffix(marker: str) -> str:
    marker = " ".join(marker.split())
    return f"; {marker}" if marker else ""


def _validate_index_url(url: str, *, field: str, origin: str) -> str:
    if not _INDEX_URL.match(SECRET_PLACEHOLDER.sub("secret", url)):
        raise InvalidInputError(f"{origin}: index URL {url!r} must be an http(s) URL", field=field)
    return url


def _logical_lines(lines: Iterable[str]) -> Iterator[str]:
    """Non-empty lines without comments, backslash continuations joined; an item may hold many lines."""
    pending = ""
    for item in lines:
        for raw in str(item).splitlines():
            if raw.rstrip().endswith("\\"):
                pending += raw.rstrip()[:-1] + " "
                continue
            line = _COMMENT.sub("", pending + raw).strip()
            pending = ""
            if line:
                yield line
    if pending.strip():
        line = _COMMENT.sub("", pending).strip()
        if line:
            yield line
