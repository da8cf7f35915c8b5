"""Packages whose public names are imported on first use (PEP 562), so that importing one submodule does
not import its siblings: ``import stratus.cli`` would otherwise load the SDK, pydantic and httpx."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def exports(
    package: str, sources: Mapping[str, tuple[str, ...]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose names come from ``sources`` (module -> names).

    Define them only ``if not TYPE_CHECKING``, beside the same names imported for type checkers: a module
    ``__getattr__`` that mypy sees makes every misspelt attribute of the package ``Any``."""
    namespace = sys.modules[package].__dict__
    where = {name: module for module, names in sources.items() for name in names}

    def attribute(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later lookups find it without coming back here
        return value

    def names() -> list[str]:
        return sorted({*namespace, *where})

    return attribute, names
