"""MLflow's proxied multipart uploads: create, part PUTs to signed URLs, complete, abort.

Upload state lives in the workspace's artifact store, not the database: each upload is a staging
folder (``ArtifactStore.write_staged``) holding ``manifest.json`` and whatever the store keeps per part
below ``parts/``, invisible to the artifact tree. The parts themselves go where the store's multipart
capability puts them (``ArtifactStore.begin_multipart/put_part/commit_parts/abort_multipart``): staged
objects that ``complete`` composes on local files, uncommitted blocks of the destination blob on Azure,
an S3 multipart upload on S3, which ``complete`` commits in the store without the bytes passing
through the server again. The manifest keeps the store's small state for the upload (e.g. the S3
upload id). An upload id starts with its creation time (hex seconds), so stale uploads are found
without reading them, and swept with what they hold in the store. ``complete`` records the object's
size and digest like a single upload (the sha256 where the server composed the parts, their composite
digest where the store joined them), and leaves only the manifest, marked completed, so that a retried
complete still succeeds until the sweep removes it.

The stock client sends no token with part PUTs, so ``create`` (token-checked) mints part URLs that
carry their own authority: an HMAC-SHA256 over workspace id, upload id, canonical path, part number
and expiry (at most 15 minutes ahead). The key is derived from the master key, so every server
sharing a store accepts the URLs of every other one.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stratus.artifacts import (
    ArtifactStore,
    ArtifactTooLargeError,
    MultipartPartsError,
    UnsafePathError,
    WriteData,
    canonicalize,
)
from stratus.errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
)
from stratus.server.services.artifacts import ArtifactService
from stratus.store.access import WorkspaceRecord
from stratus.store.artifacts import ArtifactRecord

log = logging.getLogger(__name__)

PART_URL_TTL_SECONDS = 15 * 60
# Part URLs expire 15 minutes after create, so an upload cannot progress much longer than that (a part
# started in time may still be streaming); a day is ample, and bounds what a killed upload leaves.
UPLOAD_TTL_SECONDS = 24 * 3600
MAX_PARTS = 10_000  # as S3
MAX_PART_BYTES = 5 << 30  # as S3 (and what one PutObject takes where S3 stages a part)
PART_QUERY = ("upload_id", "part_number", "expires", "signature")
_CLOCK_SKEW_SECONDS = 60  # between servers sharing a store
_MANIFEST = "manifest.json"
_MANIFEST_VERSION = 1
_UPLOAD_ID = re.compile(r"([0-9a-f]{8,12})-[0-9a-f]{32}")
_ETAG = re.compile(r"[0-9a-f]{64}")
_KEY_PURPOSE = b"stratus/mlflow-artifacts/mpu-part-url/v1"
_PARTS = "parts"  # where every store keeps its per-part data in the staging folder


# -- signed part URLs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartGrant:
    """What one part URL allows: writing part ``part_number`` of ``upload_id`` for ``path``, until
    ``expires`` (unix seconds)."""

    workspace_id: str
    upload_id: str
    path: str
    part_number: int
    expires: int

    def message(self) -> bytes:
        # A JSON array: no field can run into the next, whatever characters the path holds.
        fields = [_KEY_PURPOSE.decode(), self.workspace_id, self.upload_id, self.path, self.part_number]
        return json.dumps([*fields, self.expires], ensure_ascii=False, separators=(",", ":")).encode()


class PartUrlSigner:
    def __init__(self, master_key: bytes) -> None:
        # A key of its own, so a part-URL signature can never double as any other HMAC of the master key.
        self._key = hmac.new(master_key, _KEY_PURPOSE, hashlib.sha256).digest()

    def sign(self, grant: PartGrant) -> str:
        digest = hmac.new(self._key, grant.message(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def verify(self, grant: PartGrant, signature: str, *, now: float) -> None:
        """Raise PermissionDeniedError unless ``signature`` is this server's, for exactly ``grant``,
        and the grant has not expired."""
        expected = self.sign(grant).encode()
        if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
            raise PermissionDeniedError(
                "the part URL's signature does not match its workspace, path, upload_id, part_number "
                "and expiry: use the URL that mpu/create returned, unchanged"
            )
        if now >= grant.expires:
            raise PermissionDeniedError(
                "the part URL has expired (they last 15 minutes): start a new multipart upload"
            )
        if grant.expires > now + PART_URL_TTL_SECONDS + _CLOCK_SKEW_SECONDS:
            raise PermissionDeniedError("the part URL expires further ahead than 15 minutes; it is refused")


def verify_part_url(
    master_key: bytes,
    workspace: WorkspaceRecord | None,
    raw_path: str,
    query: Mapping[str, str],
    *,
    now: float | None = None,
) -> PartGrant:
    """The grant a part URL carries, once its signature is checked (the one check for that route).

    401 when the URL has no signature at all, 403 for anything that does not verify: a changed path,
    part number, upload id, expiry or workspace, a workspace that does not exist, an expired URL.
    """
    missing = [name for name in PART_QUERY if not query.get(name)]
    if missing:
        raise AuthenticationError(
            f"this part URL lacks {', '.join(missing)}: part uploads are authorised by the signed URL that "
            "mpu/create returned, not by a token"
        )
    try:
        path = canonicalize(raw_path)
        grant = PartGrant(
            workspace_id=workspace.id if workspace is not None else "",
            upload_id=query["upload_id"],
            path=path,
            part_number=int(query["part_number"]),
            expires=int(query["expires"]),
        )
    except (UnsafePathError, ValueError):
        raise PermissionDeniedError(
            "the part URL was altered: use the URL that mpu/create returned"
        ) from None
    if workspace is None or not path:
        raise PermissionDeniedError("the part URL was altered: use the URL that mpu/create returned")
    PartUrlSigner(master_key).verify(grant, query["signature"], now=time.time() if now is None else now)
    return grant


# -- the uploads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartCredential:
    grant: PartGrant
    signature: str


@dataclass(frozen=True)
class CreatedUpload:
    upload_id: str
    path: str
    credentials: list[PartCredential]


@dataclass(frozen=True)
class _Manifest:
    data: dict[str, Any]

    @classmethod
    def parse(cls, raw: bytes) -> _Manifest:
        data = json.loads(raw)
        if not isinstance(data, dict) or not isinstance(data.get("path"), str):
            raise ValueError("not a multipart upload manifest")
        int(data["num_parts"])
        return cls(data)

    @property
    def path(self) -> str:
        return str(self.data["path"])

    @property
    def num_parts(self) -> int:
        return int(self.data["num_parts"])

    @property
    def completed(self) -> dict[str, Any] | None:
        completed = self.data.get("completed")
        return completed if isinstance(completed, dict) else None

    @property
    def store(self) -> dict[str, str]:
        """The store's state for the upload (absent in manifests from before native commits: staged)."""
        state = self.data.get("store")
        return {str(k): str(v) for k, v in state.items()} if isinstance(state, dict) else {}


def destination(directory: str, file_name: str) -> str:
    """The object a multipart upload writes: MLflow sends the destination folder in the URL and the
    local file's path (older clients: the full path) in the body; like MLflow, take its last part."""
    name = re.split(r"[/\\]", file_name)[-1]
    if not name:
        raise BadRequestError(
            "parameter 'path' must name the file being uploaded", field="path", code="INVALID_PARAMETER_VALUE"
        )
    try:
        folder = canonicalize(directory)
        return canonicalize(f"{folder}/{name}" if folder else name)
    except UnsafePathError as exc:
        raise BadRequestError(
            f"invalid artifact path: {exc}", field="path", code="INVALID_PARAMETER_VALUE"
        ) from None


def _upload_created_at(upload_id: str) -> int | None:
    match = _UPLOAD_ID.fullmatch(upload_id)
    return int(match.group(1), 16) if match else None


def _normalise_etag(etag: object, number: int) -> str:
    text = etag.strip() if isinstance(etag, str) else ""
    text = text.removeprefix("W/").strip('"')
    if not _ETAG.fullmatch(text):
        raise BadRequestError(
            f"parts[{number}].etag must be the ETag the part upload answered (a quoted sha256)",
            field="parts",
            code="INVALID_PARAMETER_VALUE",
        )
    return text


class MultipartUploads:
    def __init__(
        self, artifacts: ArtifactService, master_key: bytes, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.artifacts = artifacts
        self.signer = PartUrlSigner(master_key)
        self.clock = clock

    def create(
        self, workspace: WorkspaceRecord, directory: str, file_name: str, num_parts: int, *, created_by: str
    ) -> CreatedUpload:
        if not 1 <= num_parts <= MAX_PARTS:
            raise BadRequestError(
                f"parameter 'num_parts' must be between 1 and {MAX_PARTS}, got {num_parts}",
                field="num_parts",
                code="INVALID_PARAMETER_VALUE",
            )
        path = destination(directory, file_name)
        objects = self.artifacts.objects(workspace)
        try:
            is_dir = objects.info(path).is_dir
        except (FileNotFoundError, NotADirectoryError):
            is_dir = False
        if is_dir:
            raise BadRequestError(f"{path!r} is a directory; upload to a file path", field="path")
        self._sweep_quietly(objects)
        now = int(self.clock())
        upload_id = f"{now:x}-{secrets.token_hex(16)}"
        state = objects.begin_multipart(path, upload_id)
        manifest = {
            "version": _MANIFEST_VERSION,
            "path": path,
            "num_parts": num_parts,
            "created_at": now,
            "created_by": created_by,
            "store": state,
            "completed": None,
        }
        try:
            objects.write_staged(upload_id, _MANIFEST, json.dumps(manifest).encode())
        except BaseException:
            with contextlib.suppress(Exception):  # else gc finds it: an unfinished write of the store
                objects.abort_multipart(path, upload_id, state)
            raise
        expires = now + PART_URL_TTL_SECONDS
        credentials = []
        for number in range(1, num_parts + 1):
            grant = PartGrant(workspace.id, upload_id, path, number, expires)
            credentials.append(PartCredential(grant, self.signer.sign(grant)))
        return CreatedUpload(upload_id, path, credentials)

    def write_part(
        self, workspace: WorkspaceRecord, grant: PartGrant, data: WriteData, *, max_bytes: int | None
    ) -> str:
        """Store one part (a retried part replaces the earlier one); returns its sha256, the ETag."""
        objects = self.artifacts.objects(workspace)
        manifest = self._manifest(objects, grant.upload_id, grant.path)
        if manifest.completed is not None:
            raise BadRequestError(f"upload {grant.upload_id!r} is already complete", field="upload_id")
        if grant.part_number > manifest.num_parts:  # only a forged grant could ask; refuse all the same
            raise PermissionDeniedError(f"upload {grant.upload_id!r} has {manifest.num_parts} parts")
        limit = MAX_PART_BYTES if max_bytes is None else min(max_bytes, MAX_PART_BYTES)
        try:
            info = objects.put_part(
                grant.path,
                grant.upload_id,
                manifest.store,
                grant.part_number,
                data,
                last=grant.part_number == manifest.num_parts,
                max_bytes=limit,
            )
        except ArtifactTooLargeError:
            raise PayloadTooLargeError(
                f"part larger than {limit} bytes (the part limit, or STRATUS_MAX_UPLOAD_BYTES)",
                field="part_number",
            ) from None
        except FileNotFoundError:  # the store's upload ended between reading the manifest and now
            raise NotFoundError(
                f"no multipart upload {grant.upload_id!r}: it was aborted or completed meanwhile",
                field="upload_id",
                code="RESOURCE_DOES_NOT_EXIST",
            ) from None
        return info.sha256

    def complete(
        self,
        workspace: WorkspaceRecord,
        directory: str,
        file_name: str,
        upload_id: str,
        parts: Sequence[tuple[int, object]],
        *,
        max_bytes: int | None,
    ) -> None:
        path = destination(directory, file_name)
        objects = self.artifacts.objects(workspace)
        manifest = self._manifest(objects, upload_id, path)
        numbers = [number for number, _ in parts]
        if numbers != list(range(1, manifest.num_parts + 1)):
            raise BadRequestError(
                f"parameter 'parts' must list parts 1 to {manifest.num_parts}, each once and in order",
                field="parts",
                code="INVALID_PARAMETER_VALUE",
            )
        etags = [_normalise_etag(etag, number) for number, etag in parts]
        listed = hashlib.sha256("\n".join(etags).encode()).hexdigest()
        if manifest.completed is not None:
            if manifest.completed.get("parts") == listed:
                return  # a retried complete (the first answer was lost): already done
            raise BadRequestError(
                f"upload {upload_id!r} was completed with other parts",
                field="parts",
                code="INVALID_PARAMETER_VALUE",
            )
        try:
            listed_parts = list(zip(numbers, etags, strict=True))
            record = self._commit(workspace, path, upload_id, manifest.store, listed_parts, max_bytes)
        except BadRequestError:
            # A client that timed out retries complete while the first call still commits; whichever
            # finishes first removes the parts under the other. If it completed these parts, so did we.
            if self._completed_with(objects, upload_id, path, listed):
                return
            raise
        # Object and record first, then the mark, then the parts go: a crash anywhere in between leaves
        # an upload that a retried complete finishes again, or that the sweep removes.
        completed = {"parts": listed, "size": record.size, "sha256": record.sha256}
        objects.write_staged(
            upload_id, _MANIFEST, json.dumps({**manifest.data, "completed": completed}).encode()
        )
        objects.delete_staged(upload_id, _PARTS)

    def _completed_with(self, objects: ArtifactStore, upload_id: str, path: str, listed: str) -> bool:
        try:
            completed = self._manifest(objects, upload_id, path).completed
        except NotFoundError:
            return False
        return completed is not None and completed.get("parts") == listed

    def _commit(
        self,
        workspace: WorkspaceRecord,
        path: str,
        upload_id: str,
        state: dict[str, str],
        parts: list[tuple[int, str]],
        max_bytes: int | None,
    ) -> ArtifactRecord:
        try:
            return self.artifacts.commit_parts(workspace, path, upload_id, state, parts, max_bytes=max_bytes)
        except MultipartPartsError as exc:
            raise _parts_error(upload_id, exc) from None
        except FileNotFoundError:
            raise BadRequestError(
                f"a part of upload {upload_id!r} disappeared (aborted meanwhile?)", field="parts"
            ) from None
        except ArtifactTooLargeError:
            raise PayloadTooLargeError(
                f"artifact larger than STRATUS_MAX_UPLOAD_BYTES ({max_bytes} bytes)", field="path"
            ) from None
        except (IsADirectoryError, NotADirectoryError) as exc:
            raise BadRequestError(f"cannot write {path!r}: {exc.strerror or exc}", field="path") from None

    def abort(self, workspace: WorkspaceRecord, directory: str, file_name: str, upload_id: str) -> None:
        """Discard the parts; aborting an unknown or finished upload changes nothing."""
        path = destination(directory, file_name)
        objects = self.artifacts.objects(workspace)
        try:
            manifest = self._manifest(objects, upload_id, path)
        except NotFoundError:
            return
        if manifest.completed is None:
            objects.abort_multipart(path, upload_id, manifest.store)
            objects.delete_staged(upload_id)

    def sweep(self, workspace: WorkspaceRecord) -> int:
        """Remove uploads older than UPLOAD_TTL_SECONDS; returns how many."""
        objects = self.artifacts.objects(workspace)
        return sweep_uploads(objects, before=self.clock() - UPLOAD_TTL_SECONDS).swept

    def _sweep_quietly(self, objects: ArtifactStore) -> None:
        try:
            sweep_uploads(objects, before=self.clock() - UPLOAD_TTL_SECONDS)
        except Exception:  # housekeeping must not fail the upload that triggered it
            log.warning("sweeping stale multipart uploads failed", exc_info=True)

    def _manifest(self, objects: ArtifactStore, upload_id: str, path: str) -> _Manifest:
        if not isinstance(upload_id, str) or _upload_created_at(upload_id) is None:
            raise BadRequestError(
                "parameter 'upload_id' must be the upload_id that mpu/create returned",
                field="upload_id",
                code="INVALID_PARAMETER_VALUE",
            )
        try:
            manifest = _Manifest.parse(objects.read_staged(upload_id, _MANIFEST))
        except (FileNotFoundError, NotADirectoryError, ValueError, KeyError, TypeError):
            raise NotFoundError(
                f"no multipart upload {upload_id!r}: it was aborted, or finished longer ago than a day",
                field="upload_id",
                code="RESOURCE_DOES_NOT_EXIST",
            ) from None
        if manifest.path != path:
            raise BadRequestError(
                f"upload {upload_id!r} writes {manifest.path!r}, not {path!r}",
                field="path",
                code="INVALID_PARAMETER_VALUE",
            )
        return manifest


def _parts_error(upload_id: str, exc: MultipartPartsError) -> BadRequestError:
    if exc.missing:
        listed = ", ".join(str(n) for n in exc.missing[:20])
        message = f"part(s) {listed} of upload {upload_id!r} were never uploaded"
    elif exc.mismatched:
        listed = ", ".join(str(n) for n in exc.mismatched[:20])
        message = f"the etag given for part {listed} is not that of the part uploaded; upload it again"
    elif exc.reupload:
        listed = ", ".join(str(n) for n in exc.reupload[:20])
        message = f"upload part(s) {listed} of upload {upload_id!r} again: {exc.reason}"
    else:
        message = f"upload {upload_id!r} cannot be completed: {exc.reason}"
    return BadRequestError(message, field="parts", code="INVALID_PARAMETER_VALUE")


@dataclass(frozen=True)
class UploadSweep:
    """What a sweep of a store's multipart uploads did: how many it removed (or, in a dry run, would
    have), and the store states of every upload it knows of, swept or kept (so that a sweep of the
    store's unfinished writes leaves the native uploads behind them alone)."""

    swept: int
    states: list[dict[str, str]]


def sweep_uploads(
    objects: ArtifactStore, *, before: float, dry_run: bool = False, collect_states: bool = False
) -> UploadSweep:
    """Remove the uploads of ``objects`` created before ``before`` (unix seconds), with what they hold
    in the store; an upload whose manifest cannot be read loses its staging folder only. The states
    of uploads kept are read only with ``collect_states``."""
    swept = 0
    states: list[dict[str, str]] = []
    for upload_id in objects.staged_uploads():
        created = _upload_created_at(upload_id)
        if created is None:
            continue  # not an upload id this service made; leave it alone
        stale = created < before
        manifest = _read_manifest(objects, upload_id) if stale or collect_states else None
        if manifest is not None:
            states.append(manifest.store)
        if not stale:
            continue
        swept += 1
        if dry_run:
            continue
        if manifest is not None and manifest.completed is None:
            try:
                objects.abort_multipart(manifest.path, upload_id, manifest.store)
            except Exception:  # the staging folder goes all the same; gc finds a native upload left behind
                log.warning("aborting stale multipart upload %s failed", upload_id, exc_info=True)
        objects.delete_staged(upload_id)
    return UploadSweep(swept, states)


def _read_manifest(objects: ArtifactStore, upload_id: str) -> _Manifest | None:
    try:
        return _Manifest.parse(objects.read_staged(upload_id, _MANIFEST))
    except (FileNotFoundError, NotADirectoryError, ValueError, KeyError, TypeError):
        return None
