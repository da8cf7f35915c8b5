"""The bounded parsers: JSON and YAML input past a depth or expansion bound is an ``InputLimitError``
(a ``ValueError``), never a ``RecursionError``, a hang or a memory blow-up."""

from __future__ import annotations

import contextlib
import json
import math

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from stratus.parsing import MAX_DEPTH, InputLimitError, exceeds_depth, load_yaml, loads_json

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=30,
)


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


@given(JSON_VALUES)
def test_json_within_the_bound_round_trips(value: object) -> None:
    assert loads_json(json.dumps(value).encode()) == value
    assert loads_json(json.dumps(value)) == value  # str input too


@given(st.integers(min_value=1, max_value=3 * MAX_DEPTH), st.booleans())
@settings(max_examples=60)
def test_json_depth_bound_is_exact(depth: int, as_list: bool) -> None:
    body = b"[" * depth + b"]" * depth if as_list else _nested(depth)
    if depth <= MAX_DEPTH:
        assert _depth(loads_json(body)) == depth
    else:
        with pytest.raises(InputLimitError, match=f"deeper than {MAX_DEPTH} levels"):
            loads_json(body)


@pytest.mark.parametrize("depth", [1_000, 5_000, 100_000])
def test_json_nested_thousands_deep_is_refused_not_a_recursion_error(depth: int) -> None:
    """orjson stops at 1024 levels; the json fallback used to raise RecursionError past ~1000."""
    for body in (b"[" * depth + b"]" * depth, _nested(depth), b"[" * depth):
        with pytest.raises(ValueError, match="deeper than"):
            loads_json(body)


def test_json_fallback_still_reads_what_json_clients_send() -> None:
    assert math.isnan(loads_json(b'{"v": NaN}')["v"])
    assert loads_json(b'{"v": 123456789012345678901234567890}')["v"] == pytest.approx(1.2345678901e29)
    with pytest.raises(json.JSONDecodeError):
        loads_json(b'{"v": ')
    with pytest.raises(UnicodeDecodeError):
        loads_json(b'{"v": "\xff"}')
    with pytest.raises(InputLimitError):  # NaN makes orjson refuse, and the fallback is bounded too
        loads_json(b'{"v": NaN, "deep": ' + b"[" * 200 + b"]" * 200 + b"}")


@given(st.binary(max_size=200))
def test_json_parser_raises_only_value_errors(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        loads_json(data)


def test_exceeds_depth_walks_without_recursion() -> None:
    value: list[object] = []
    current = value
    for _ in range(50_000):
        inner: list[object] = []
        current.append(inner)
        current = inner
    assert exceeds_depth(value)
    assert not exceeds_depth({"a": [1, {"b": 2}]}, limit=3)
    assert exceeds_depth({"a": [1, {"b": []}]}, limit=3)


def test_yaml_within_the_bounds() -> None:
    assert load_yaml("a: 1\nb: [x, {c: true}]\n") == {"a": 1, "b": ["x", {"c": True}]}
    assert load_yaml("python: 3.10", strings=True) == {"python": "3.10"}
    anchors = "base: &b {image: python, tags: [a, b]}\none: *b\ntwo: *b\n"
    loaded = load_yaml(anchors)
    assert loaded["one"] == loaded["two"] == {"image": "python", "tags": ["a", "b"]}


def test_yaml_alias_expansion_is_bounded() -> None:
    """A "billion laughs" document: nine levels of nine aliases each expand to 9**9 nodes."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    with pytest.raises(InputLimitError, match="expands to more than"):
        load_yaml("\n".join(lines))
    with pytest.raises(InputLimitError, match="expands to more than"):
        load_yaml("\n".join(lines), strings=True)


@pytest.mark.parametrize("text", ["a: &a [*a]", "a: &a {b: *a}", "&x [1, [2, *x]]"])
def test_yaml_cycles_are_refused(text: str) -> None:
    with pytest.raises(InputLimitError, match="cycle"):
        load_yaml(text)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 2_000, 20_000])
def test_yaml_depth_is_bounded(depth: int) -> None:
    for text in ("[" * depth + "]" * depth, "{a: " * depth + "1" + "}" * depth):
        with pytest.raises(InputLimitError, match="deeper than"):
            load_yaml(text)
    indented = "".join(" " * level + "k:\n" for level in range(min(depth, 500)))
    with pytest.raises(InputLimitError, match="deeper than"):
        load_yaml(indented)


def test_yaml_size_is_bounded() -> None:
    with pytest.raises(InputLimitError, match="longer than 10 characters"):
        load_yaml("a: 12345678901", max_chars=10)


YAML_TEXT = st.text(alphabet=st.sampled_from(list("ab:-[]{},&*!|>'\"#\n 019.~")), max_size=120)


@given(YAML_TEXT)
@settings(max_examples=300)
def test_yaml_parser_raises_only_yaml_or_limit_errors(text: str) -> None:
    with contextlib.suppress(yaml.YAMLError, InputLimitError):
        load_yaml(text)
