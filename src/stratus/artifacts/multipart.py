"""Multipart uploads as a capability of the artifact store: parts arrive one by one (in any order,
possibly again), and ``commit_parts`` turns them into one object, atomically.

The default keeps each part as a staged object and composes them (read back and written again);
a backend that can commit parts natively (Azure block lists, S3 multipart uploads) implements
:class:`NativeMultipart`, so the bytes go to the store once. Either way the store keeps whatever
it needs per part below ``parts/`` of the upload's staging folder, and the caller keeps the small
``state`` dict that ``begin_multipart`` returns (JSON-able strings) and hands it back on every call.

A natively committed object never passes through the server whole, so its sha256 is not known;
what is known is each part's sha256 (hashed while it streamed), and :func:`composite_digest` of them
is what the store reports for it instead, marked so that nobody takes it for a content hash.
"""

from __future__ import annotations

import abc
import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stratus.artifacts.errors import ArtifactTooLargeError

if TYPE_CHECKING:
    from stratus.artifacts.base import ObjectInfo

__all__ = [
    "COMPOSITE_PREFIX",
    "MAX_PARTS",
    "MODE_STAGED",
    "MeteredChunks",
    "MultipartState",
    "NativeMultipart",
    "PartInfo",
    "composite_digest",
    "is_content_sha256",
    "part_name",
]

MAX_PARTS = 10_000  # as S3; Azure allows more blocks, MLflow's client never sends more parts
MODE_STAGED = "staged"
# Not hex, so a composite can never be mistaken for (or collide with) a content sha256; the digest is
# cut to fit the 64 characters the artifact index keeps.
COMPOSITE_PREFIX = "parts:"
_CONTENT_SHA256 = re.compile(r"[0-9a-f]{64}")

MultipartState = dict[str, str]
"""What ``begin_multipart`` returns and every later call takes back: ``mode`` and backend fields."""


@dataclass(frozen=True)
class PartInfo:
    """A part as stored: its number, size and the sha256 of its bytes (hashed on the way in)."""

    number: int
    size: int
    sha256: str


def part_name(number: int) -> str:
    """Staged name of part ``number``'s bytes (the default, and S3's parts below its 5 MiB minimum)."""
    return f"parts/{number:05d}"


def composite_digest(part_sha256: Iterable[str]) -> str:
    """``parts:`` and the first 58 hex digits of the sha256 over the parts' binary sha256 digests in
    order: it names the content for a given split into parts, but it is not the object's sha256."""
    digest = hashlib.sha256(b"".join(bytes.fromhex(sha) for sha in part_sha256)).hexdigest()
    return COMPOSITE_PREFIX + digest[: 64 - len(COMPOSITE_PREFIX)]


def is_content_sha256(digest: str) -> bool:
    """True for the hex sha256 of an object's bytes; False for a composite digest (or anything else)."""
    return bool(_CONTENT_SHA256.fullmatch(digest))


class MeteredChunks(Iterator[bytes]):
    """Chunks on their way to the store: counted, hashed and held to ``max_bytes``; ``size`` and
    ``sha256`` are final once it is exhausted (``finished``)."""

    def __init__(self, key: str, chunks: Iterator[bytes], max_bytes: int | None) -> None:
        if max_bytes is not None and max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self.key = key
        self._chunks = chunks
        self._max_bytes = max_bytes
        self._hash = hashlib.sha256()
        self.size = 0
        self.finished = False

    def __next__(self) -> bytes:
        while True:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self.finished = True
                raise
            if chunk:
                break
        self.size += len(chunk)
        if self._max_bytes is not None and self.size > self._max_bytes:
            raise ArtifactTooLargeError(self.key, self._max_bytes)
        self._hash.update(chunk)
        return chunk

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


class NativeMultipart(abc.ABC):
    """A backend's own way of committing parts, bound to one store (view).

    Keys are the store's canonical object keys; the store has checked them, the upload id and the
    part numbers, and meters every part. What an implementation stages for an upload goes below
    ``parts/`` of the upload's staging folder, which the caller removes once the upload is done.
    """

    mode: str
    """The ``mode`` this implementation writes into the states it begins."""

    @abc.abstractmethod
    def begin(self, key: str, upload: str) -> MultipartState: ...

    @abc.abstractmethod
    def put_part(
        self, key: str, upload: str, state: Mapping[str, str], number: int, part: MeteredChunks, *, last: bool
    ) -> None:
        """Consume every chunk of ``part`` and store it as part ``number`` (replacing nothing that a
        commit could mistake for it: a re-upload with other bytes is told apart by its sha256).
        FileNotFoundError when the upload is gone (aborted or completed meanwhile)."""

    @abc.abstractmethod
    def commit(
        self,
        key: str,
        upload: str,
        state: Mapping[str, str],
        parts: Sequence[tuple[int, str]],
        max_bytes: int | None,
    ) -> ObjectInfo:
        """Make the parts, each the one with the given sha256, the object ``key`` in this order, or
        raise with nothing new visible (MultipartPartsError, ArtifactTooLargeError, FileNotFoundError
        when the upload itself is gone). Committing the same parts again must succeed."""

    @abc.abstractmethod
    def abort(self, key: str, upload: str, state: Mapping[str, str]) -> None:
        """Release what the backend holds for the upload; no error when there is nothing."""

    def sweep_orphans(self, before: float, *, dry_run: bool, keep: Iterable[Mapping[str, str]]) -> int:
        """Remove native uploads below this store that were started before ``before`` (unix seconds)
        and that no state in ``keep`` names; returns how many (would have been) removed."""
        return 0
