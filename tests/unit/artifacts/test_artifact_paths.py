"""The path canonicaliser, example by example (the property tests are in test_artifact_path_properties)."""

from __future__ import annotations

import pytest

from stratus.artifacts import UnsafePathError, canonicalize, is_canonical
from stratus.artifacts.paths import MAX_PATH_BYTES, MAX_SEGMENT_BYTES, join


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        (".", ""),
        ("./", ""),
        ("a", "a"),
        ("a/b/c.txt", "a/b/c.txt"),
        ("a//b///c", "a/b/c"),
        ("a/./b/.", "a/b"),
        ("a/b/", "a/b"),
        ("./a", "a"),
        ("a%2fb", "a/b"),  # an encoded separator is a separator: one spelling per object
        ("a%2Fb", "a/b"),
        ("a%252fb", "a/b"),
        ("a%20b", "a b"),
        ("a b.txt", "a b.txt"),
        ("100%", "100%"),  # not an escape, left alone
        ("%zz", "%zz"),
        ("50%25", "50%"),
        (".hidden/.x", ".hidden/.x"),
        ("a..b", "a..b"),
        ("..a", "..a"),
        ("a~", "a~"),
        ("e\u0301", "\u00e9"),  # NFC
        ("\u65e5\u672c/\u8a9e", "\u65e5\u672c/\u8a9e"),
        ("a+b=c,d@e!f'g(h){i}$k&l", "a+b=c,d@e!f'g(h){i}$k&l"),
    ],
)
def test_accepted(raw: str, expected: str) -> None:
    assert canonicalize(raw) == expected
    assert canonicalize(expected) == expected
    assert is_canonical(expected)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("..", "'..'"),
        ("../a", "'..'"),
        ("a/..", "'..'"),
        ("a/../b", "'..'"),
        ("a/b/../../..", "'..'"),
        ("%2e%2e", "'..'"),
        ("%2E%2e/a", "'..'"),
        (".%2e/a", "'..'"),
        ("a%2f..%2fb", "'..'"),
        ("%252e%252e", "'..'"),
        ("%25252e%25252e", "'..'"),
        ("%2525252e", "more than 3 times"),
        ("%2525252525252525252e", "more than 3 times"),
        ("/a", "absolute"),
        ("//host/share", "absolute"),
        ("%2fetc/passwd", "absolute"),
        ("%252fetc", "absolute"),
        ("a\\b", "backslash"),
        ("\\\\host\\share", "backslash"),
        ("a%5cb", "backslash"),
        ("a%255Cb", "backslash"),
        ("C:\\x", "backslash"),
        ("C:/x", "':'"),
        ("c:", "':'"),
        ("file:///etc/passwd", "':'"),
        ("file:x", "':'"),
        ("s3://bucket/key", "':'"),
        ("az://c/b", "':'"),
        ("a%3ab", "':'"),
        ("~", "'~'"),
        ("~/x", "'~'"),
        ("~root/x", "'~'"),
        ("a/~b", "'~'"),
        ("%7e/x", "'~'"),
        ("a\x00b", "NUL"),
        ("a%00b", "NUL"),
        ("a\nb", "control"),
        ("a%0ab", "control"),
        ("a\x7f", "control"),
        ("a\u0085", "control"),
        ("a\u200bb", "format"),
        ("a\u202eb", "format"),
        ("a\ud800", "control or format"),
        ("a\u2028b", "control or format"),
        ("a#b", "'#'"),
        ("a%23b", "'#'"),
        ("a?b", "'?'"),
        ("a%3Fb", "'?'"),
        ("a;b", "';'"),
        ("a;jsessionid=1", "';'"),
        ("a*", "glob"),
        ("a[1]", "glob"),
        ("...", "ending in a dot"),
        (". .", "ending in a dot"),
        ("a.", "ending in a dot"),
        ("a ", "whitespace"),
        (" ", "whitespace"),
        ("a\u00a0", "whitespace"),  # NBSP: NFKC turns it into a plain space
        ("%c0%ae%c0%ae/x", "UTF-8"),  # overlong "." as some decoders accept it
        ("%e0%80%ae", "UTF-8"),
        ("%ff", "UTF-8"),
        ("%u002e%u002e/x", "%u"),
        ("\u2025/x", "'..'"),  # two dot leader is ".." in compatibility form
        ("\uff0e\uff0e/x", "'..'"),  # fullwidth full stops
        ("%EF%BC%8E%EF%BC%8E/x", "'..'"),
        ("a\uff0fb", "look-alike"),  # fullwidth solidus
        ("a\u2215b", None),  # division slash: not a separator in any normal form
        ("a\u037e", "';'"),  # Greek question mark is canonically ";"
        ("a\uff1b", "';'"),
        ("a\uff03", "'#'"),
        ("x" * (MAX_SEGMENT_BYTES + 1), "segment longer"),
        ("/".join(["abcdefgh"] * 120), "longer than 1024 bytes"),
        ("a" * 5000, "longer than 4096"),
    ],
)
def test_rejected(raw: str, reason: str | None) -> None:
    if reason is None:
        assert canonicalize(raw) == raw
        return
    with pytest.raises(UnsafePathError) as info:
        canonicalize(raw)
    assert info.value.path == raw
    assert reason in info.value.reason
    assert reason in str(info.value)
    assert isinstance(info.value, ValueError)
    assert not is_canonical(raw)


def test_limits_are_inclusive() -> None:
    assert canonicalize("x" * MAX_SEGMENT_BYTES) == "x" * MAX_SEGMENT_BYTES
    base = "/".join(["y" * 99] * 10)
    path = base + "/" + "z" * (MAX_PATH_BYTES - len(base) - 1)
    assert len(path.encode()) == MAX_PATH_BYTES
    assert canonicalize(path) == path
    with pytest.raises(UnsafePathError, match="longer than 1024 bytes"):
        canonicalize(path + "z")
    # Multi-byte characters count in bytes, as S3 and the filesystem count them.
    with pytest.raises(UnsafePathError, match="segment longer"):
        canonicalize("\u00e9" * (MAX_SEGMENT_BYTES // 2 + 1))


def test_non_str_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="must be str"):
        canonicalize(b"a/b")  # type: ignore[arg-type]


def test_message_is_truncated_but_names_the_problem() -> None:
    with pytest.raises(UnsafePathError) as info:
        canonicalize("../" + "a" * 3000)
    assert len(str(info.value)) < 400
    assert "'..'" in str(info.value)


def test_join_skips_the_root() -> None:
    assert join("", "a/b", "", "c") == "a/b/c"
    assert join("", "") == ""
