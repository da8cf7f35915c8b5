"""Bounded parsers for input that comes from a client: JSON bodies and YAML files (specs, MLTable files,
conda files, MLflow model metadata).

Nesting is bounded because everything downstream recurses (pydantic, ``json.dumps`` into a JSON column,
our own walks): a body nested thousands of levels deep must be a 4xx, never a ``RecursionError`` and a
500. YAML aliases are bounded by the size of the document they expand to, so a "billion laughs" file is
refused before any code walks it, and an alias to its own ancestor (a cycle) is refused outright.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import yaml

# Deeper than any Azure ML spec, MLflow request or MLTable file; far below the interpreter's recursion
# limit and orjson's own limits (1024 to parse, 254 to render).
MAX_DEPTH = 64
# Nodes a YAML document may expand to once its aliases are followed.
MAX_YAML_NODES = 100_000
# YAML files read from users (specs, MLTable, conda and MLflow model files) are small text files.
MAX_YAML_CHARS = 4 << 20


class InputLimitError(ValueError):
    """Input that parses but exceeds a bound (depth, expanded size, bytes); the message says which."""


def exceeds_depth(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and dicts in ``value`` nest deeper than ``limit`` (iteratively: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if type(item) is dict else item
        for child in children:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return False


def _check_depth(value: Any, limit: int) -> Any:
    if (type(value) is dict or type(value) is list) and exceeds_depth(value, limit):
        raise InputLimitError(f"JSON nested deeper than {limit} levels")
    return value


def loads_json(body: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON: orjson first (request bodies can be large), ``json`` for what orjson refuses but JSON-ish
    clients send (bare NaN and Infinity). Raises ``ValueError`` (``InputLimitError`` past the
    depth bound) for anything that is not acceptable JSON."""
    raw = body.encode() if isinstance(body, str) else body
    # A body with no more brackets than the bound cannot nest deeper than it: skip the walk (most bodies).
    shallow = raw.count(b"[") + raw.count(b"{") <= max_depth
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            value = json.loads(raw)
        except RecursionError:
            raise InputLimitError(f"JSON nested deeper than {max_depth} levels") from None
    return value if shallow else _check_depth(value, max_depth)


_SIZE = "stratus_expanded_size"  # set on each composed node: the nodes it stands for, aliases followed


class _BoundedComposer:
    """Mixed into a PyYAML loader: bounds nesting depth and the size aliases expand to, refuses cycles."""

    max_depth = MAX_DEPTH
    max_nodes = MAX_YAML_NODES
    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        alias = self.check_event(yaml.AliasEvent)  # type: ignore[attr-defined]
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                raise InputLimitError(f"YAML nested deeper than {self.max_depth} levels")
            node = super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1
        if alias:
            if getattr(node, _SIZE, None) is None:  # its anchor is still being composed: a cycle
                raise InputLimitError("YAML alias refers to a node that contains it (a cycle)")
            return node
        if isinstance(node, yaml.SequenceNode):
            size = 1 + sum(getattr(child, _SIZE) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            size = 1 + sum(getattr(key, _SIZE) + getattr(value, _SIZE) for key, value in node.value)
        else:
            size = 1
        if size > self.max_nodes:
            raise InputLimitError(f"YAML expands to more than {self.max_nodes} nodes (through its aliases)")
        setattr(node, _SIZE, size)
        return node


class BoundedSafeLoader(_BoundedComposer, yaml.SafeLoader):
    """``yaml.SafeLoader`` with the bounds above."""


class BoundedBaseLoader(_BoundedComposer, yaml.BaseLoader):
    """``yaml.BaseLoader`` (every scalar a string) with the bounds above."""


def load_yaml(text: str, *, strings: bool = False, max_chars: int = MAX_YAML_CHARS) -> Any:
    """One YAML document, bounded; ``strings`` reads every scalar as a string (``yaml.BaseLoader``).
    Raises ``yaml.YAMLError`` for bad YAML and ``InputLimitError`` past a bound."""
    if len(text) > max_chars:
        raise InputLimitError(f"YAML longer than {max_chars} characters")
    return yaml.load(text, Loader=BoundedBaseLoader if strings else BoundedSafeLoader)  # noqa: S506
