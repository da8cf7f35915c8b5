"""MLflow's search filter grammar, parsed once into clauses that each store translates to SQL.

A filter is clauses joined by ``AND`` (MLflow has no ``OR``)::

    metrics.rmse < 0.5 AND params.model = 'lgbm' AND tags.`my tag` LIKE 'a%' AND status IN ('A')

An identifier is ``[kind.]key`` where kind is ``metrics``/``metric``, ``params``/``param``/``parameters``,
``tags``/``tag``, ``attributes``/``attribute``/``attr``/``run``, ``datasets``/``dataset``; no kind means an
attribute. Keys with spaces or dots are quoted with backticks or double quotes. Values are single- or
double-quoted strings, numbers, or a parenthesised list of strings for ``IN`` / ``NOT IN``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from stratus.errors import BadRequestError

Kind = Literal["metric", "param", "tag", "attribute", "dataset"]
COMPARATORS = ("=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN")

_KINDS: dict[str, Kind] = {
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
    "dataset": "dataset",
    "datasets": "dataset",
}

_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*")
    | (?P<backtick>`[^`]*`)
    | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.]))
    | (?P<op><=|>=|!=|<>|=|<|>)
    | (?P<lparen>\()
    | (?P<rparen>\))
    | (?P<comma>,)
    | (?P<word>[A-Za-z_][\w.\-/:]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Clause:
    kind: Kind
    key: str
    comparator: str
    value: str | float | tuple[str, ...]


def _error(message: str) -> BadRequestError:
    return BadRequestError(f"invalid filter: {message}", field="filter", code="INVALID_PARAMETER_VALUE")


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _error(f"unexpected text at {text[position : position + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _unquote(token: str) -> str:
    quote = token[0]
    body = token[1:-1]
    if quote == "'":
        body = body.replace("''", "'")
    return re.sub(r"\\(.)", r"\1", body) if quote in "'\"" else body


def parse_filter(text: str | None) -> list[Clause]:
    """Parse a filter string; an empty or missing filter is no clause at all."""
    if text is None or not text.strip():
        return []
    return _Parser(_tokens(text)).clauses()


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.i = 0

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.tokens):
            raise _error("it ends too early")
        token = self.tokens[self.i]
        self.i += 1
        return token

    def peek_word(self) -> str:
        return self.tokens[self.i][1].upper() if self.i < len(self.tokens) else ""

    def clauses(self) -> list[Clause]:
        clauses = [self.clause()]
        while self.i < len(self.tokens):
            kind, word = self.take()
            if kind != "word" or word.upper() != "AND":
                raise _error(f"clauses are joined with AND, found {word!r}")
            clauses.append(self.clause())
        return clauses

    def clause(self) -> Clause:
        kind, key = self.identifier()
        comparator = self.comparator()
        return Clause(kind, key, comparator, self.value(comparator))

    def identifier(self) -> tuple[Kind, str]:
        category, value = self.take()
        if category in ("backtick", "string"):
            key: str = _unquote(value)
            kind: Kind = "attribute"
        elif category == "word" and value.endswith(".") and value[:-1].lower() in _KINDS:
            quoted_kind, quoted = self.take()  # tags.`my key` or metrics."a.b"
            if quoted_kind not in ("backtick", "string"):
                raise _error(f"expected a quoted key after {value!r}")
            kind, key = _KINDS[value[:-1].lower()], _unquote(quoted)
        elif category == "word":
            prefix, dot, rest = value.partition(".")
            kind, key = (
                (_KINDS[prefix.lower()], rest) if dot and prefix.lower() in _KINDS else ("attribute", value)
            )
        else:
            raise _error(f"expected an identifier, found {value!r}")
        if not key:
            raise _error("empty key")
        return kind, key

    def comparator(self) -> str:
        kind, value = self.take()
        upper = value.upper()
        if kind == "op":
            return "!=" if value == "<>" else value
        if kind == "word" and upper in ("LIKE", "ILIKE", "IN"):
            return upper
        if kind == "word" and upper == "NOT" and self.peek_word() == "IN":
            self.take()
            return "NOT IN"
        raise _error(f"expected a comparator ({', '.join(COMPARATORS)}), found {value!r}")

    def value(self, comparator: str) -> str | float | tuple[str, ...]:
        if comparator in ("IN", "NOT IN"):
            return self.string_list(comparator)
        kind, value = self.take()
        if kind == "string":
            return _unquote(value)
        if kind == "number":
            return float(value)
        raise _error(f"expected a quoted string or a number, found {value!r}")

    def string_list(self, comparator: str) -> tuple[str, ...]:
        kind, value = self.take()
        if kind != "lparen":
            raise _error(f"{comparator} takes a parenthesised list of strings")
        items: list[str] = []
        while True:
            kind, value = self.take()
            if kind != "string":
                raise _error(f"{comparator} lists hold quoted strings, found {value!r}")
            items.append(_unquote(value))
            kind, value = self.take()
            if kind == "rparen":
                return tuple(items)
            if kind != "comma":
                raise _error(f"expected ',' or ')' in the {comparator} list, found {value!r}")


def parse_order_by(text: str) -> tuple[Kind, str, bool]:
    """One ``order_by`` clause: ``metrics.rmse DESC``, ``params.`a b```, ``start_time ASC``."""
    tokens = _tokens(text)
    ascending = True
    if tokens and tokens[-1][0] == "word" and tokens[-1][1].upper() in ("ASC", "DESC"):
        ascending = tokens.pop()[1].upper() == "ASC"
    parser = _Parser(tokens)
    try:
        kind, key = parser.identifier()
    except BadRequestError:
        kind, key = "attribute", ""
    if not key or parser.i != len(tokens):
        raise BadRequestError(
            f"invalid order_by clause {text!r}: use '<identifier> [ASC|DESC]'",
            field="order_by",
            code="INVALID_PARAMETER_VALUE",
        )
    return kind, key, ascending
