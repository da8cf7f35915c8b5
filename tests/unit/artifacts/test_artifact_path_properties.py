"""Property tests: the grammar of schemes x encodings x separators x segments against the canonicaliser."""

from __future__ import annotations

import itertools
import ntpath
import posixpath
import unicodedata
from urllib.parse import unquote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stratus.artifacts import UnsafePathError, canonicalize, is_canonical

EXAMPLES = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)

# Anything in front of a path that names another place: URL schemes, drives, UNC, home directories.
SCHEMES = [
    "file:",
    "file://",
    "file:///",
    "file://localhost/",
    "s3://",
    "s3://bucket/",
    "az://",
    "abfs://c@acct.dfs.core.windows.net/",
    "http://",
    "https://host/",
    "mlflow-artifacts:/",
    "runs:/",
    "models:/",
    "C:",
    "c:",
    "C:\\",
    "C:/",
    "/",
    "//",
    "//host/share/",
    "\\\\",
    "\\\\server\\share\\",
    "\\\\?\\C:\\",
    "\\\\.\\",
    "~",
    "~/",
    "~root/",
]

# Separators and how many levels of percent-encoding each carries. "\\" and its encodings are never
# a safe separator.
SAFE_SEPARATORS = {"/": 0, "//": 0, "/./": 0, "%2f": 1, "%2F": 1, "%252f": 2, "%252F": 2}
UNSAFE_SEPARATORS = ["\\", "%5c", "%5C", "%255c", "\\/", "/\\", "%2f%5c"]

# Segments that must be refused however they are encoded or separated.
DANGEROUS_SEGMENTS = [
    "..",
    "...",
    ". .",
    ".. ",
    "\u2025",
    "\uff0e\uff0e",
    ".\uff0e",
    "a\x00",
    "\x00",
    "a\nb",
    "\r",
    "\t",
    "a#frag",
    "a?x=1",
    "a;p=1",
    "a:b",
    "~",
    "~x",
    "a\u202e",
    "a\u200d",
    "*",
    "a[0]",
    "%",  # becomes dangerous with what follows in the double encodings below
]
DANGEROUS_ALWAYS = [s for s in DANGEROUS_SEGMENTS if s != "%"]

SAFE_CHARS = "abcXYZ019_-+=,@!'(){}$&\u00e9\u00fc\u65e5\u00df"
safe_segment = st.text(alphabet=SAFE_CHARS + ". ", min_size=1, max_size=10).filter(
    lambda s: s[-1] not in ". " and s not in (".", "..")
)

ENCODINGS = ["none", "dots", "separators", "all", "double", "mixed"]
ENCODING_LEVELS = {"none": 0, "dots": 1, "separators": 1, "all": 1, "double": 2, "mixed": 2}


def _escape(char: str, upper: bool) -> str:
    hex_format = "%{:02X}" if upper else "%{:02x}"
    return "".join(hex_format.format(b) for b in char.encode("utf-8"))


def encode(text: str, how: str, cases: list[bool], levels: list[int]) -> str:
    """Percent-encode ``text``: some characters, all of them, twice, or a random mix per character."""
    out = []
    for i, char in enumerate(text):
        upper = cases[i % len(cases)]
        if how == "none" or (how == "dots" and char != ".") or (how == "separators" and char not in "/\\"):
            out.append(char)
            continue
        if how in ("all", "dots", "separators") and not char.isalnum():
            out.append(_escape(char, upper))
        elif how == "double" and not char.isalnum():
            out.append(_escape(char, upper).replace("%", "%25"))
        elif how == "mixed":
            level = levels[i % len(levels)]
            encoded = char if level == 0 else _escape(char, upper)
            out.append(encoded.replace("%", "%25") if level == 2 else encoded)
        else:
            out.append(char)
    return "".join(out)


def assert_invariants(result: str) -> None:
    """What every accepted path looks like, whatever went in."""
    segments = result.split("/") if result else []
    assert ".." not in segments and "." not in segments and "" not in segments
    assert not result.startswith("/") and not result.startswith("~")
    for forbidden in ("\\", "\x00", ":", "#", "?", ";", "*", "["):
        assert forbidden not in result
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in result)
    assert canonicalize(result) == result  # idempotent
    assert is_canonical(result)
    assert unquote(result) == result  # no layer that decodes once more can read it differently
    assert unicodedata.normalize("NFC", result) == result
    # However a local path is joined and normalised, POSIX or Windows, it stays below the root.
    joined = posixpath.normpath(posixpath.join("/root", result))
    assert joined == "/root" or joined.startswith("/root/")
    win = ntpath.normpath(ntpath.join("C:\\root", result))
    assert win == "C:\\root" or win.startswith("C:\\root\\")


def check(raw: str) -> str | None:
    try:
        result = canonicalize(raw)
    except UnsafePathError as exc:
        error = exc
    else:
        assert_invariants(result)
        return result
    assert error.path == raw and error.reason
    return None


@st.composite
def grammar_paths(draw: st.DrawFn) -> tuple[str, bool]:
    """(path, must_be_rejected) from schemes x segments x separators x encodings."""
    scheme = draw(st.sampled_from(["", "", "", *SCHEMES]))
    segments = draw(st.lists(safe_segment, min_size=1, max_size=4))
    dangerous = draw(st.booleans())
    if dangerous:
        segments.insert(draw(st.integers(0, len(segments))), draw(st.sampled_from(DANGEROUS_SEGMENTS)))
    separators = draw(
        st.lists(
            st.sampled_from([*SAFE_SEPARATORS, *UNSAFE_SEPARATORS]),
            min_size=len(segments) - 1,
            max_size=len(segments) - 1,
        )
    )
    text = segments[0] + "".join(sep + seg for sep, seg in zip(separators, segments[1:], strict=True))
    how = draw(st.sampled_from(ENCODINGS))
    cases = draw(st.lists(st.booleans(), min_size=1, max_size=4))
    levels = draw(st.lists(st.integers(0, 2), min_size=1, max_size=4))
    raw = scheme + encode(text, how, cases, levels)
    must_reject = (
        bool(scheme)
        or any(s in DANGEROUS_ALWAYS for s in segments)
        or any(s in UNSAFE_SEPARATORS for s in separators)
    )
    return raw, must_reject


@EXAMPLES
@given(grammar_paths())
def test_grammar_is_rejected_or_safe(case: tuple[str, bool]) -> None:
    raw, must_reject = case
    result = check(raw)
    if must_reject:
        assert result is None, f"{raw!r} was accepted as {result!r}"


@st.composite
def safe_paths(draw: st.DrawFn) -> tuple[str, str]:
    """(encoded path, the path it must canonicalise to) built from safe parts only."""
    segments = draw(st.lists(safe_segment, min_size=1, max_size=5))
    how = draw(st.sampled_from(ENCODINGS))
    budget = 3 - ENCODING_LEVELS[how]  # at most three levels of encoding in total are accepted
    separators = draw(
        st.lists(
            st.sampled_from([s for s, level in SAFE_SEPARATORS.items() if level <= budget]),
            min_size=len(segments) - 1,
            max_size=len(segments) - 1,
        )
    )
    text = segments[0] + "".join(sep + seg for sep, seg in zip(separators, segments[1:], strict=True))
    cases = draw(st.lists(st.booleans(), min_size=1, max_size=4))
    levels = draw(st.lists(st.integers(0, 2), min_size=1, max_size=4))
    leading = draw(st.sampled_from(["", "./", "././"]))
    trailing = draw(st.sampled_from(["", "/", "/."]))
    raw = leading + encode(text, how, cases, levels) + trailing
    return raw, unicodedata.normalize("NFC", "/".join(segments))


@EXAMPLES
@given(safe_paths())
def test_safe_paths_are_accepted(case: tuple[str, str]) -> None:
    raw, expected = case
    assert check(raw) == expected


@EXAMPLES
@given(st.text(max_size=60))
def test_any_text_is_rejected_or_safe(raw: str) -> None:
    check(raw)  # never any exception but UnsafePathError


@EXAMPLES
@given(st.text(alphabet="./\\%25cefEF~:;#?\x00 a", max_size=30))
def test_punctuation_soup_is_rejected_or_safe(raw: str) -> None:
    check(raw)


@EXAMPLES
@given(st.lists(safe_segment, min_size=1, max_size=6))
def test_canonical_joins_are_fixed_points(segments: list[str]) -> None:
    path = unicodedata.normalize("NFC", "/".join(segments))
    assert canonicalize(path) == path


def test_every_dangerous_combination_is_rejected() -> None:
    """Exhaustively: every dangerous segment, after every scheme, joined by every separator, in every
    uniform encoding, is refused."""
    count = 0
    for scheme, segment, separator, how in itertools.product(
        ["", *SCHEMES],
        DANGEROUS_ALWAYS,
        [*SAFE_SEPARATORS, *UNSAFE_SEPARATORS],
        [h for h in ENCODINGS if h != "mixed"],
    ):
        for text in (f"a{separator}{segment}", f"{segment}{separator}b"):
            raw = scheme + encode(text, how, [count % 2 == 0, count % 3 == 0], [1])
            assert check(raw) is None, f"{raw!r} was accepted"
            count += 1
    assert count > 10_000
