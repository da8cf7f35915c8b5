"""Signed part URLs of multipart uploads: what a signature covers, when it expires, who can check it."""

from __future__ import annotations

import dataclasses
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from plugins.stratus_server import bearer
from stratus.errors import AuthenticationError, PermissionDeniedError
from stratus.server.services.multipart import (
    PART_URL_TTL_SECONDS,
    PartGrant,
    PartUrlSigner,
    verify_part_url,
)
from stratus.store.access import WorkspaceRecord

KEY = bytes(range(32))
NOW = 1_700_000_000
GRANT = PartGrant(
    "ws-id", "6553f100-" + "ab" * 16, "0/run/artifacts/model.bin", 2, NOW + PART_URL_TTL_SECONDS
)


def _workspace(workspace_id: str = "ws-id") -> WorkspaceRecord:
    fields = {f.name: None for f in dataclasses.fields(WorkspaceRecord)}
    return WorkspaceRecord(**{**fields, "id": workspace_id, "name": "default"})  # type: ignore[arg-type]


def _query(grant: PartGrant, signature: str) -> dict[str, str]:
    return {
        "upload_id": grant.upload_id,
        "part_number": str(grant.part_number),
        "expires": str(grant.expires),
        "signature": signature,
    }


def test_a_signature_verifies_for_its_own_grant_on_every_server_with_the_key() -> None:
    signature = PartUrlSigner(KEY).sign(GRANT)
    PartUrlSigner(bytes(KEY)).verify(GRANT, signature, now=NOW)  # another server, same master key
    assert len(signature) == 43 and "=" not in signature  # 32 bytes, base64url, no padding


@pytest.mark.parametrize(
    "change",
    [
        {"workspace_id": "other-ws"},
        {"upload_id": "6553f100-" + "cd" * 16},
        {"path": "0/run/artifacts/other.bin"},
        {"path": "0/run/artifacts/model.bin/x"},
        {"part_number": 3},
        {"expires": GRANT.expires - 1},
    ],
)
def test_every_field_is_covered(change: dict[str, object]) -> None:
    signature = PartUrlSigner(KEY).sign(GRANT)
    with pytest.raises(PermissionDeniedError, match="signature does not match"):
        PartUrlSigner(KEY).verify(dataclasses.replace(GRANT, **change), signature, now=NOW)  # type: ignore[arg-type]


def test_another_master_key_does_not_verify() -> None:
    signature = PartUrlSigner(KEY).sign(GRANT)
    with pytest.raises(PermissionDeniedError):
        PartUrlSigner(b"\x01" * 32).verify(GRANT, signature, now=NOW)


def test_fields_cannot_run_into_each_other() -> None:
    a = PartGrant("ws", "u", 'a","b', 1, NOW)
    b = PartGrant("ws", 'u","a', "b", 1, NOW)
    assert a.message() != b.message()
    assert PartUrlSigner(KEY).sign(a) != PartUrlSigner(KEY).sign(b)


def test_expiry() -> None:
    signer = PartUrlSigner(KEY)
    signature = signer.sign(GRANT)
    signer.verify(GRANT, signature, now=GRANT.expires - 1)
    for now in (GRANT.expires, GRANT.expires + 1):
        with pytest.raises(PermissionDeniedError, match="expired"):
            signer.verify(GRANT, signature, now=now)
    # A URL claiming a longer life is refused even with a valid signature: none is minted so.
    with pytest.raises(PermissionDeniedError, match="15 minutes"):
        signer.verify(GRANT, signature, now=GRANT.expires - PART_URL_TTL_SECONDS - 3600)


def test_verify_part_url_reads_the_query() -> None:
    signature = PartUrlSigner(KEY).sign(GRANT)
    query = _query(GRANT, signature)
    assert verify_part_url(KEY, _workspace(), GRANT.path, query, now=NOW) == GRANT
    # Spellings of the same path canonicalise to the signed one.
    assert verify_part_url(KEY, _workspace(), "0//run/./artifacts/model.bin", query, now=NOW) == GRANT
    for name in ("upload_id", "part_number", "expires", "signature"):
        with pytest.raises(AuthenticationError, match=name):
            verify_part_url(KEY, _workspace(), GRANT.path, {**query, name: ""}, now=NOW)
    refused: list[tuple[WorkspaceRecord | None, str, dict[str, str]]] = [
        (None, GRANT.path, query),
        (_workspace("other"), GRANT.path, query),
        (_workspace(), "0/run/artifacts/../../x", query),
        (_workspace(), "", query),
        (_workspace(), GRANT.path, {**query, "part_number": "two"}),
        (_workspace(), GRANT.path, {**query, "expires": "1e9"}),
        (_workspace(), GRANT.path, {**query, "signature": "é" + signature[1:]}),
    ]
    for workspace, path, bad in refused:
        with pytest.raises(PermissionDeniedError):
            verify_part_url(KEY, workspace, path, bad, now=NOW)


def test_the_choke_point_checks_part_urls_and_never_logs_them(
    api: TestClient, admin_token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("stratus").warning("marker: server-side records are captured")
    run = api.post("/api/2.0/mlflow/runs/create", json={"experiment_id": "0"}, headers=bearer(admin_token))
    folder = f"0/{run.json()['run']['info']['run_id']}/artifacts"
    created = api.post(
        f"/api/2.0/mlflow-artifacts/mpu/create/{folder}",
        json={"path": "m.bin", "num_parts": 1},
        headers=bearer(admin_token),
    ).json()
    url = created["credentials"][0]["url"]
    signature = parse_qs(urlsplit(url).query)["signature"][0]
    assert api.put(url, content=b"part").status_code == 200
    assert api.put(url.replace("part_number=1", "part_number=2"), content=b"part").status_code == 403
    assert api.put(url.split("?")[0], content=b"part", headers=bearer(admin_token)).status_code == 401
    server_side = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]  # not the client
    assert "marker: server-side records are captured" in server_side
    assert not [m for m in server_side if signature in m]
