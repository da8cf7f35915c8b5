"""The one artifact path canonicaliser.

Every read, write, list and delete in every backend goes through :func:`canonicalize`, and the string
it returns is the one that is used: the check and the use share a parser, so no later layer can read
the path differently from the way it was checked.

The canonical form is the fixed point of percent-decoding (and NFC), so decoding it again, any number
of times, gives the same string; a relative POSIX path with no empty, ``.`` or ``..`` segments.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal
from urllib.parse import unquote

from stratus.artifacts.errors import UnsafePathError

__all__ = [
    "MAX_DECODE_ROUNDS",
    "MAX_PATH_BYTES",
    "MAX_SEGMENT_BYTES",
    "canonicalize",
    "is_canonical",
    "join",
]

MAX_INPUT_CHARS = 4096
# S3 keys and Azure blob names are capped at 1024; 255 is NAME_MAX on common local filesystems.
MAX_PATH_BYTES = 1024
MAX_SEGMENT_BYTES = 255
# One level of encoding is ordinary (URLs), a second is tolerated; deeper nesting is only ever a trick.
MAX_DECODE_ROUNDS = 3

# URL delimiters (fragment, query, matrix parameters), drive letters / schemes / NTFS streams, and
# glob patterns (many fsspec calls expand them, so "a[1]" could address "a1").
_FORBIDDEN_CHARS = {
    "#": "'#'",
    "?": "'?'",
    ";": "';'",
    ":": "':' (scheme, drive letter or stream)",
    "*": "'*' (glob pattern)",
    "[": "'[' (glob pattern)",
    "]": "']' (glob pattern)",
    # What decoders substitute for bytes that are not UTF-8: two different requests would name one object.
    "\ufffd": "U+FFFD (bytes that are not valid UTF-8)",
}
# Unicode control, format (zero-width, bidi overrides), surrogate and line/paragraph separators.
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
# IIS-style %u-plus-four-hex-digit escapes: urllib leaves them alone but some servers decode them.
_PERCENT_U = re.compile(r"%u[0-9a-fA-F]{4}")


def canonicalize(path: str) -> str:
    """Return the canonical relative POSIX form of ``path`` ("" is the store root).

    Raises :class:`UnsafePathError` for anything that could escape or confuse: ``..`` segments,
    absolute paths, backslashes, NUL and control characters, ``#?;:*[]``, ``~`` segments,
    percent-encoded (or repeatedly encoded) versions of any of these, Unicode look-alikes that
    normalise to them, and paths or segments longer than object stores accept.
    """
    if not isinstance(path, str):
        raise TypeError(f"artifact path must be str, not {type(path).__name__}")
    if len(path) > MAX_INPUT_CHARS:
        raise UnsafePathError(path, f"longer than {MAX_INPUT_CHARS} characters")

    forms = [path]
    canonical = _fixed_point(path, path, "NFC", forms)
    # Look-alikes ("\u2025" is "..", fullwidth solidus is "/") must be safe in compatibility form too,
    # in case any layer below applies NFKC.
    compat = _fixed_point(path, canonical, "NFKC", forms)

    for text in forms:
        _check_characters(path, text)
    segments = _segments(path, canonical)
    if compat != canonical and len(_segments(path, compat)) != len(segments):
        raise UnsafePathError(path, "contains a look-alike character that normalises to '/' or '.'")

    result = "/".join(segments)
    if len(result.encode("utf-8")) > MAX_PATH_BYTES:
        raise UnsafePathError(path, f"longer than {MAX_PATH_BYTES} bytes")
    return result


def is_canonical(path: str) -> bool:
    """True when ``path`` is exactly its own canonical form (used to hide temp files and odd names)."""
    try:
        return canonicalize(path) == path
    except UnsafePathError:
        return False


def join(*parts: str) -> str:
    """Join already canonical paths, skipping empty ones (the root)."""
    return "/".join(p for p in parts if p)


def _fixed_point(path: str, start: str, form: Literal["NFC", "NFKC"], forms: list[str]) -> str:
    """Percent-decode and Unicode-normalise until nothing changes, recording every step in ``forms``."""
    current = start
    for _ in range(MAX_DECODE_ROUNDS + 1):
        if _PERCENT_U.search(current):
            raise UnsafePathError(path, "contains a %u escape")
        try:
            decoded = unquote(current, encoding="utf-8", errors="strict")
        except UnicodeDecodeError:
            raise UnsafePathError(
                path, "percent-encoding is not valid UTF-8 (overlong or truncated)"
            ) from None
        nxt = unicodedata.normalize(form, decoded)
        if nxt == current:
            return current
        forms.append(nxt)
        current = nxt
    raise UnsafePathError(path, f"percent-encoded more than {MAX_DECODE_ROUNDS} times")


def _check_characters(path: str, text: str) -> None:
    if "\\" in text:
        raise UnsafePathError(path, "contains a backslash")
    for char, name in _FORBIDDEN_CHARS.items():
        if char in text:
            raise UnsafePathError(path, f"contains {name}")
    for char in text:
        category = unicodedata.category(char)
        if category in _FORBIDDEN_CATEGORIES:
            what = "NUL" if char == "\0" else f"U+{ord(char):04X}"
            raise UnsafePathError(path, f"contains a control or format character ({what})")


def _segments(path: str, text: str) -> list[str]:
    if text.startswith("/"):
        raise UnsafePathError(path, "is absolute (starts with '/')")
    segments: list[str] = []
    for segment in text.split("/"):
        if segment in ("", "."):
            continue  # duplicate or trailing slashes and "." mean nothing in a relative path
        if segment == "..":
            raise UnsafePathError(path, "contains a '..' segment")
        if segment.startswith("~"):
            raise UnsafePathError(path, "has a segment starting with '~' (home directory or reserved name)")
        if segment[-1] in ". " or segment[-1].isspace():
            # Windows drops trailing dots and spaces ("..." / ". ." become ".."); Azure forbids them.
            raise UnsafePathError(path, "has a segment ending in a dot or whitespace")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise UnsafePathError(path, f"has a segment longer than {MAX_SEGMENT_BYTES} bytes")
        segments.append(segment)
    return segments
