"""Errors raised by the artifact store.

They subclass the built-in exception a caller would naturally catch (ValueError for bad input,
ImportError for a missing extra), so code that does not know Stratus still handles them sensibly.
"""

from __future__ import annotations

_MAX_SHOWN = 200  # keep messages readable when someone sends a 4 KiB path


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "...(truncated)"


class UnsafePathError(ValueError):
    """An artifact path was refused; ``reason`` names the problem and ``path`` is the input."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"unsafe artifact path {_shown(path)}: {reason}")


class ArtifactTooLargeError(ValueError):
    """A write went past ``max_bytes``; nothing was stored."""

    def __init__(self, path: str, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        super().__init__(
            f"artifact {path!r} is larger than the limit of {max_bytes} bytes; nothing was stored"
        )


class MissingExtraError(ImportError):
    """An optional backend was asked for but its extra is not installed."""

    def __init__(self, scheme: str, extra: str, module: str) -> None:
        self.scheme = scheme
        self.extra = extra
        super().__init__(
            f"{scheme}:// artifact stores need the {module!r} package; install it with "
            f"pip install 'stratus-ml[{extra}]'",
            name=module,
        )


class UnknownSchemeError(ValueError):
    """No artifact store backend is registered for a URI's scheme."""

    def __init__(self, uri: str, scheme: str, known: list[str]) -> None:
        self.uri = uri
        self.scheme = scheme
        super().__init__(
            f"no artifact store backend for scheme {scheme!r} in {_shown(uri)}; "
            f"known schemes: {', '.join(known)} (or a plain local path)"
        )


class StagedPieceMismatchError(ValueError):
    """A staged piece's content is not what the caller expected (its sha256 differs); nothing was written."""

    def __init__(self, name: str, expected: str, actual: str) -> None:
        self.name = name
        self.expected = expected
        self.actual = actual
        super().__init__(f"staged piece {name!r} has sha256 {actual}, not the expected {_shown(expected)}")


class MultipartPartsError(ValueError):
    """The parts listed for a multipart upload cannot be committed as they are; nothing new is visible.

    ``missing``: part numbers never uploaded; ``mismatched``: parts stored with other bytes than the
    sha256 listed for them (replaced since, or never those); ``reupload``: parts the store holds in a
    form it cannot join with the others, which an upload of the same bytes again fixes (``reason``
    says why). All empty with a ``reason``: the parts as a whole exceed what the store can commit.
    """

    def __init__(
        self,
        *,
        missing: tuple[int, ...] = (),
        mismatched: tuple[int, ...] = (),
        reupload: tuple[int, ...] = (),
        reason: str = "",
    ) -> None:
        self.missing = missing
        self.mismatched = mismatched
        self.reupload = reupload
        self.reason = reason
        listed = ", ".join(
            f"{what} {list(numbers)[:20]}"
            for what, numbers in (("missing", missing), ("mismatched", mismatched), ("reupload", reupload))
            if numbers
        )
        why = f": {reason}" if reason else ""
        super().__init__(f"cannot commit the parts ({listed or 'as a whole'}){why}")
