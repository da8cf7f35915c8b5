"""Multipart uploads committed natively on S3: ``begin`` opens an S3 multipart upload on the
destination key, parts are UploadPart, the commit is CompleteMultipartUpload, abort is
AbortMultipartUpload. The object is invisible until the commit.

S3 refuses to join parts below 5 MiB unless it is the last. So a part below that size is kept as a
staged object instead (``parts/<n>``, one PutObject); where only the last part is small, the commit
copies it into the multipart upload inside S3 (UploadPartCopy) and nothing passes through the
server. Where a part other than the last is small (MLflow's client with
``MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE`` below 5 MiB), S3 cannot join the parts, and the commit falls
back to composing the staged parts through the server like the default store. Once the upload has
such a part, larger parts are staged too; a larger part that went into the S3 upload before that is
named in the error, and uploading it again fixes it.

UploadPart needs the length and a body it can read again (signing, checksums, retries), so a part
is spooled first: in memory up to the store's block size, in a temporary file beyond. Every stored
part leaves a receipt, an empty staged object ``parts/<n>.<sha256>.<size>.<kind>.<etag>`` (kind
``part``: in the S3 upload; ``object``: staged; ``small``: staged, below 5 MiB and not the last;
the S3 ETag base64url-encoded). A commit takes for each part a receipt with the listed sha256 whose
ETag is what S3 holds now, so a part replaced by a later upload is never committed under the old
sha256. The calls go through s3fs's own aiobotocore client, so its session, credentials, endpoint
and ``s3_additional_kwargs`` apply.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from fsspec.asyn import sync

from stratus.artifacts.base import STAGING_DIR, ListEntry, ObjectInfo
from stratus.artifacts.errors import ArtifactTooLargeError, MultipartPartsError
from stratus.artifacts.multipart import (
    MeteredChunks,
    MultipartState,
    NativeMultipart,
    composite_digest,
    part_name,
)
from stratus.artifacts.paths import join

if TYPE_CHECKING:
    from stratus.artifacts.fsspec_store import FsspecArtifactStore

__all__ = ["MIN_PART_BYTES", "S3Multipart"]

MIN_PART_BYTES = 5 << 20  # S3's minimum for every part but the last
_COPIES_AT_ONCE = 8
_RECEIPT = re.compile(r"parts/(\d{5})\.([0-9a-f]{64})\.(\d+)\.(part|object|small)\.([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class _Receipt:
    number: int
    sha256: str
    size: int
    kind: str  # "part", "object" or "small"
    etag: str

    @classmethod
    def parse(cls, entry: ListEntry) -> _Receipt | None:
        match = _RECEIPT.fullmatch(entry.path)
        if match is None:
            return None
        number, sha256, size, kind, etag = match.groups()
        try:
            text = base64.urlsafe_b64decode(etag + "=" * (-len(etag) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return cls(int(number), sha256, int(size), kind, text)

    def name(self) -> str:
        etag = base64.urlsafe_b64encode(self.etag.encode()).decode().rstrip("=")
        return f"{part_name(self.number)}.{self.sha256}.{self.size}.{self.kind}.{etag}"

    @property
    def staged(self) -> bool:
        return self.kind != "part"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Multipart(NativeMultipart):
    mode = "s3"

    def __init__(self, store: FsspecArtifactStore) -> None:
        self._store = store
        self._fs = store.fs
        self._bucket, _, self._prefix = store.root.partition("/")

    def _s3_key(self, key: str) -> str:
        return join(self._prefix, key) if self._prefix else key

    async def _call(self, method: str, *, body: IO[bytes] | None = None, **kwargs: Any) -> Any:
        await self._fs.set_session()
        client = await self._fs.get_s3(self._bucket)
        operation = getattr(client, method)
        if body is not None:
            body.seek(0)
            kwargs["Body"] = body
        # s3fs's request defaults (e.g. server-side encryption) go with every call, as with its own.
        return await operation(**self._fs._get_s3_method_kwargs(operation, Bucket=self._bucket, **kwargs))

    def _run(self, method: str, *, body: IO[bytes] | None = None, **kwargs: Any) -> Any:
        return sync(self._fs.loop, self._call, method, body=body, **kwargs)

    # -- the upload ---------------------------------------------------------------------------------

    def begin(self, key: str, upload: str) -> MultipartState:
        created = self._run("create_multipart_upload", Key=self._s3_key(key))
        return {"mode": self.mode, "upload_id": str(created["UploadId"])}

    def put_part(
        self, key: str, upload: str, state: Mapping[str, str], number: int, part: MeteredChunks, *, last: bool
    ) -> None:
        with tempfile.SpooledTemporaryFile(max_size=self._store.block_size) as spool:
            for chunk in part:
                spool.write(chunk)
            small = part.size < MIN_PART_BYTES
            if small or self._has_small_parts(upload):
                kind = "small" if small and not last else "object"
                staged = self._staged_s3_key(upload, number)
                answer = self._run("put_object", body=spool, Key=staged, ContentLength=part.size)
            else:
                kind = "part"
                try:
                    answer = self._run(
                        "upload_part",
                        body=spool,
                        Key=self._s3_key(key),
                        UploadId=state["upload_id"],
                        PartNumber=number,
                        ContentLength=part.size,
                    )
                except ClientError as exc:
                    if _code(exc) == "NoSuchUpload":  # aborted or completed meanwhile
                        raise _gone(exc) from None
                    raise
        receipt = _Receipt(number, part.sha256, part.size, kind, str(answer["ETag"]))
        self._store.write_staged(upload, receipt.name(), b"")

    def _staged_s3_key(self, upload: str, number: int) -> str:
        return self._s3_key(join(STAGING_DIR, upload, part_name(number)))

    def _receipts(self, upload: str) -> dict[int, list[_Receipt]]:
        receipts: dict[int, list[_Receipt]] = {}
        for entry in self._store.list_staged(upload):
            receipt = _Receipt.parse(entry)
            if receipt is not None:
                receipts.setdefault(receipt.number, []).append(receipt)
        return receipts

    def _has_small_parts(self, upload: str) -> bool:
        return any(r.kind == "small" for found in self._receipts(upload).values() for r in found)

    def commit(
        self,
        key: str,
        upload: str,
        state: Mapping[str, str],
        parts: Sequence[tuple[int, str]],
        max_bytes: int | None,
    ) -> ObjectInfo:
        receipts = self._receipts(upload)
        candidates: dict[int, list[_Receipt]] = {}
        missing, mismatched = [], []
        for number, sha256 in parts:
            uploaded = receipts.get(number, [])
            candidates[number] = [r for r in uploaded if r.sha256 == sha256]
            if not uploaded:
                missing.append(number)
            elif not candidates[number]:
                mismatched.append(number)
        if missing or mismatched:
            raise MultipartPartsError(missing=tuple(missing), mismatched=tuple(mismatched))
        total = sum(candidates[number][0].size for number, _ in parts)
        if max_bytes is not None and total > max_bytes:
            raise ArtifactTooLargeError(key, max_bytes)
        if any(candidates[number][0].size < MIN_PART_BYTES for number, _ in parts[:-1]):
            return self._compose(key, upload, state, parts, candidates, max_bytes)
        self._commit_natively(key, upload, state, parts, candidates, total)
        return ObjectInfo(path=key, size=total, sha256=composite_digest(sha for _, sha in parts))

    def _compose(
        self,
        key: str,
        upload: str,
        state: Mapping[str, str],
        parts: Sequence[tuple[int, str]],
        candidates: Mapping[int, list[_Receipt]],
        max_bytes: int | None,
    ) -> ObjectInfo:
        unstaged = tuple(n for n, _ in parts if not any(r.staged for r in candidates[n]))
        if unstaged:
            raise MultipartPartsError(
                reupload=unstaged,
                reason="S3 joins parts below 5 MiB only as the last one, so these parts are joined on "
                "the server, and those that went into the S3 upload must be uploaded again to be staged",
            )
        names = [part_name(n) for n, _ in parts]
        digests = [sha for _, sha in parts]
        info = self._store.compose(key, upload, names, expected_sha256=digests, max_bytes=max_bytes)
        self.abort(key, upload, state)
        return info

    def _commit_natively(
        self,
        key: str,
        upload: str,
        state: Mapping[str, str],
        parts: Sequence[tuple[int, str]],
        candidates: Mapping[int, list[_Receipt]],
        total: int,
    ) -> None:
        upload_id = state["upload_id"]
        try:
            held = sync(self._fs.loop, self._parts_held, key, upload_id)
        except ClientError as exc:
            if _code(exc) == "NoSuchUpload" and self._committed(key, parts, candidates, total):
                return  # a retried complete: an earlier one committed these very parts
            raise _gone(exc) from None
        etags: dict[int, str] = {}
        copies: dict[int, _Receipt] = {}
        mismatched = []
        for number, _ in parts:
            in_upload = [r for r in candidates[number] if r.kind == "part" and held.get(number) == r.etag]
            staged = [r for r in candidates[number] if r.staged]
            if in_upload:
                etags[number] = in_upload[0].etag
            elif staged:
                copies[number] = staged[0]
            else:  # S3 holds other bytes for this part now: a later upload replaced it
                mismatched.append(number)
        if mismatched:
            raise MultipartPartsError(mismatched=tuple(mismatched))
        try:
            etags |= sync(self._fs.loop, self._copy_parts, key, upload, upload_id, copies)
            listed = [{"PartNumber": number, "ETag": etags[number]} for number, _ in parts]
            self._run(
                "complete_multipart_upload",
                Key=self._s3_key(key),
                UploadId=upload_id,
                MultipartUpload={"Parts": listed},
            )
        except ClientError as exc:
            if _code(exc) == "NoSuchUpload" and self._committed(key, parts, candidates, total):
                return
            if _code(exc) in ("InvalidPart", "PreconditionFailed", "NoSuchKey"):
                # A part was replaced between the listing and the commit: its receipt is stale now.
                raise MultipartPartsError(
                    mismatched=tuple(n for n, _ in parts), reason="parts changed during the commit"
                ) from None
            if _code(exc) == "NoSuchUpload":
                raise _gone(exc) from None
            raise

    async def _parts_held(self, key: str, upload_id: str) -> dict[int, str]:
        held: dict[int, str] = {}
        marker = 0
        while True:
            page = await self._call(
                "list_parts", Key=self._s3_key(key), UploadId=upload_id, PartNumberMarker=marker
            )
            for found in page.get("Parts", []):
                held[int(found["PartNumber"])] = str(found["ETag"])
            if not page.get("IsTruncated"):
                return held
            marker = int(page["NextPartNumberMarker"])

    async def _copy_parts(
        self, key: str, upload: str, upload_id: str, copies: Mapping[int, _Receipt]
    ) -> dict[int, str]:
        """Copy staged parts into the S3 upload, inside S3; each must still be the object its receipt
        names (S3 checks CopySourceIfMatch; the ETag check covers servers that ignore it)."""
        limit = asyncio.Semaphore(_COPIES_AT_ONCE)

        async def copy(number: int, receipt: _Receipt) -> tuple[int, str]:
            source = self._staged_s3_key(upload, number)
            async with limit:
                answer = await self._call(
                    "upload_part_copy",
                    Key=self._s3_key(key),
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource={"Bucket": self._bucket, "Key": source},
                    CopySourceIfMatch=receipt.etag,
                )
            etag = str(answer["CopyPartResult"]["ETag"])
            if etag != receipt.etag:
                raise MultipartPartsError(mismatched=(number,), reason="the staged part was replaced")
            return number, etag

        return dict(await asyncio.gather(*(copy(n, r) for n, r in copies.items())))

    def _committed(
        self, key: str, parts: Sequence[tuple[int, str]], candidates: Mapping[int, list[_Receipt]], total: int
    ) -> bool:
        """Whether the object at ``key`` is what completing these parts made: S3's ETag of a
        multipart object is the MD5 of its parts' MD5s and their count."""
        md5s = []
        for number, _ in parts:
            etag = candidates[number][0].etag.strip('"')
            if not re.fullmatch(r"[0-9a-f]{32}", etag):
                return False  # not an MD5 (e.g. SSE-KMS): cannot tell, so say no
            md5s.append(bytes.fromhex(etag))
        # S3's scheme, not a security use of MD5.
        joined = hashlib.md5(b"".join(md5s), usedforsecurity=False).hexdigest()
        expected = f'"{joined}-{len(md5s)}"'
        try:
            head = self._run("head_object", Key=self._s3_key(key))
        except ClientError:
            return False
        return str(head.get("ETag")) == expected and int(head.get("ContentLength", -1)) == total

    def abort(self, key: str, upload: str, state: Mapping[str, str]) -> None:
        try:
            self._run("abort_multipart_upload", Key=self._s3_key(key), UploadId=state["upload_id"])
        except ClientError as exc:
            if _code(exc) != "NoSuchUpload":
                raise

    def sweep_orphans(self, before: float, *, dry_run: bool, keep: Iterable[Mapping[str, str]]) -> int:
        kept = {state.get("upload_id") for state in keep if state.get("mode") == self.mode}
        return int(sync(self._fs.loop, self._sweep, before, dry_run, kept))

    async def _sweep(self, before: float, dry_run: bool, kept: set[str | None]) -> int:
        prefix = f"{self._prefix}/" if self._prefix else ""
        markers: dict[str, Any] = {}
        swept = 0
        while True:
            page = await self._call("list_multipart_uploads", Prefix=prefix, **markers)
            for found in page.get("Uploads", []):
                if found["UploadId"] in kept or found["Initiated"].timestamp() >= before:
                    continue
                if not dry_run:
                    try:
                        await self._call(
                            "abort_multipart_upload", Key=found["Key"], UploadId=found["UploadId"]
                        )
                    except ClientError as exc:
                        if _code(exc) != "NoSuchUpload":  # finished or aborted meanwhile: fine
                            raise
                swept += 1
            if not page.get("IsTruncated"):
                return swept
            markers = {"KeyMarker": page["NextKeyMarker"], "UploadIdMarker": page["NextUploadIdMarker"]}


def _gone(exc: ClientError) -> FileNotFoundError:
    return FileNotFoundError(f"the S3 multipart upload is gone (completed or aborted): {_code(exc)}")
