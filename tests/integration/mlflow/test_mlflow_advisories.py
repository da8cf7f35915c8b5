"""MLflow's published advisories (path traversal, local-file inclusion, SSRF, access control, unsafe
deserialization) replayed against a real Stratus server, the way each proof of concept sent them.

Each test names its CVE and says in its docstring what the advisory was. The attacks use raw HTTP:
httpx, or ``http.client`` where the bytes must reach the server exactly as written (a literal ``..`` or
backslash that httpx would normalise). Secrets and sentinels are planted outside the attacked workspace
(beside the home, in the home, at the artifact-store root, in another workspace): every response is
checked for their contents, and around every test the files outside the attacked workspaces are
fingerprinted, so nothing may be read, written or deleted there.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import pickle
import re
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from plugins.stratus_server import LiveServer, start_server

# Workspaces the tests attack or write to; everything else under the lab root must stay as it was.
ATTACKED = ("default", "team", "wipe")
MODEL = "advisory-target"


@dataclass
class Lab:
    server: LiveServer
    root: Path
    secrets: dict[str, bytes]
    outside: Path
    secret_file: Path
    sentinel_file: Path
    run_id: str = ""
    model_id: str = ""
    victim_run_id: str = ""
    victim_model_id: str = ""
    users: dict[str, str] = field(default_factory=dict)

    @property
    def token(self) -> str:
        return self.server.admin_token

    def mlflow(self, ws: str = "default") -> str:
        return f"{self.server.url}/workspaces/{ws}/api/2.0/mlflow"

    def artifacts(self, ws: str = "default") -> str:
        return f"{self.server.url}/workspaces/{ws}/api/2.0/mlflow-artifacts/artifacts"

    def new_run(self, ws: str = "default", experiment_id: str = "0") -> dict[str, Any]:
        """RunInfo of a new run (as JSON)."""
        created = self.call("POST", f"{self.mlflow(ws)}/runs/create", json={"experiment_id": experiment_id})
        assert created.status_code == 200, created.text
        info: dict[str, Any] = created.json()["run"]["info"]
        return info

    def new_logged_model(
        self, ws: str = "default", experiment_id: str = "0", **fields: str
    ) -> dict[str, Any]:
        """LoggedModelInfo of a new logged model (as JSON)."""
        body = {"experiment_id": experiment_id, **fields}
        created = self.call("POST", f"{self.mlflow(ws)}/logged-models", json=body)
        assert created.status_code == 200, created.text
        info: dict[str, Any] = created.json()["model"]["info"]
        return info

    def call(self, method: str, url: str, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        """One request, checked for what no response may ever do: fail with a 5xx or leak a secret."""
        headers = {"Authorization": f"Bearer {token or self.token}", **kwargs.pop("headers", {})}
        response = httpx.request(method, url, headers=headers, timeout=60, **kwargs)
        self.check(method, url, response.status_code, response.content + str(response.headers).encode())
        return response

    def raw(
        self, method: str, target: str, *, body: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, bytes]:
        """Send ``target`` byte for byte (no client-side normalisation of dot segments or separators)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        headers = {"Authorization": f"Bearer {self.token}"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            status, content = response.status, response.read()
        finally:
            connection.close()
        self.check(method, target, status, content)
        return status, content

    def check(self, method: str, target: str, status: int, content: bytes) -> None:
        assert status < 500, f"{method} {target} -> {status}: {content[:300]!r}"
        assert b"Traceback" not in content, f"{method} {target} leaked a stack trace"
        for name, secret in self.secrets.items():
            assert secret not in content, f"{method} {target} leaked {name}"


def _fingerprint(lab: Lab) -> dict[str, str]:
    """Path -> sha256 (or "dir") of everything under the lab root but the attacked workspaces' stores,
    the database and the logs, which the server legitimately changes."""
    home = lab.server.home
    skipped = [home / "workspaces" / ws for ws in ATTACKED] + [home / "logs"]
    prints: dict[str, str] = {}
    for path in sorted(lab.root.rglob("*")):
        if any(path == s or s in path.parents for s in skipped):
            continue
        if path.name.startswith(("stratus.db", "server-")):
            continue
        relative = str(path.relative_to(lab.root))
        prints[relative] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return prints


def _json(response: httpx.Response) -> Any:
    assert response.headers.get("content-type", "").startswith("application/json"), response.text
    return response.json()


def _refused(response: httpx.Response, *, not_found_ok: bool = False) -> str | None:
    """None when ``response`` is MLflow's refusal (400 INVALID_PARAMETER_VALUE, or a 404 when allowed)."""
    allowed = {400: "INVALID_PARAMETER_VALUE"}
    if not_found_ok:
        allowed[404] = "RESOURCE_DOES_NOT_EXIST"
    body = response.json() if response.headers.get("content-type") == "application/json" else {}
    if response.status_code in allowed and allowed[response.status_code] == body.get("error_code"):
        return None
    return f"{response.status_code} {response.text[:200]}"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("mlflow-advisories")
    server = start_server(root / "home")
    outside = root / "outside"
    outside.mkdir()
    secret_file = outside / f"secret-{uuid.uuid4().hex[:8]}.txt"
    sentinel_file = outside / f"sentinel-{uuid.uuid4().hex[:8]}.txt"
    secrets = {
        "the secret beside the home": f"OUTSIDE-{uuid.uuid4().hex}".encode(),
        "the secret in the home": f"HOME-{uuid.uuid4().hex}".encode(),
        "the secret at the store root": f"STORE-ROOT-{uuid.uuid4().hex}".encode(),
        "the other workspace's artifact": f"VICTIM-{uuid.uuid4().hex}".encode(),
        "the admin token file": (server.home / "admin-token").read_bytes().strip(),
        "the master key": (server.home / "master.key").read_bytes().strip(),
    }
    secret_file.write_bytes(secrets["the secret beside the home"])
    sentinel_file.write_bytes(b"must survive every delete")
    (server.home / "secret-in-home.txt").write_bytes(secrets["the secret in the home"])
    (server.home / "workspaces").mkdir(exist_ok=True)
    (server.home / "workspaces" / "secret-at-store-root.txt").write_bytes(
        secrets["the secret at the store root"]
    )
    lab = Lab(server, root, secrets, outside, secret_file, sentinel_file)
    for ws in ("victim", "team", "wipe"):
        created = lab.call("POST", f"{server.url}/api/v1/workspaces", json={"name": ws})
        assert created.status_code == 201, created.text
    # The victim workspace: a run with a secret artifact and a logged model, for cross-workspace attacks.
    lab.victim_run_id = lab.new_run("victim")["run_id"]
    victim_secret = f"{lab.artifacts('victim')}/0/{lab.victim_run_id}/artifacts/secret.txt"
    assert (
        lab.call("PUT", victim_secret, content=secrets["the other workspace's artifact"]).status_code == 200
    )
    lab.victim_model_id = lab.new_logged_model("victim", name="v")["model_id"]
    # The attacker's own workspace: a run, a logged model and a registered model to attach versions to.
    lab.run_id = lab.new_run()["run_id"]
    lab.model_id = lab.new_logged_model(name="own")["model_id"]
    assert (
        lab.call("POST", f"{lab.mlflow()}/registered-models/create", json={"name": MODEL}).status_code == 200
    )
    yield lab
    server.stop()


@pytest.fixture(autouse=True)
def nothing_outside_changes(lab: Lab) -> Iterator[None]:
    before = _fingerprint(lab)
    yield
    assert _fingerprint(lab) == before, "a file outside the attacked workspaces was written or deleted"


def _register(lab: Lab, source: str, **extra: Any) -> httpx.Response:
    return lab.call(
        "POST", f"{lab.mlflow()}/model-versions/create", json={"name": MODEL, "source": source, **extra}
    )


def _versions(lab: Lab) -> list[dict[str, Any]]:
    found = _json(
        lab.call("GET", f"{lab.mlflow()}/model-versions/search", params={"filter": f"name = '{MODEL}'"})
    )
    versions: list[dict[str, Any]] = found.get("model_versions", [])
    return versions


def _assert_sources_refused(lab: Lab, sources: list[str], *, not_found_ok: bool = False) -> None:
    """Each source is refused and no version is made; MLflow's follow-up reads find nothing."""
    before = len(_versions(lab))
    failures = [
        f"{s!r}: {why}" for s in sources if (why := _refused(_register(lab, s), not_found_ok=not_found_ok))
    ]
    assert failures == [], "\n".join(failures)
    assert len(_versions(lab)) == before, "a refused source still made a model version"


def _ups(levels: int) -> list[str]:
    """``levels`` parent steps to the lab root, in every spelling an advisory used (as sent on the wire)."""
    parents = [
        "..",
        "%2e%2e",
        "%2E%2E",
        ".%2e",
        "%2e.",
        "%252e%252e",  # double encoding: CVE-2024-1560 bypassed the CVE-2023-6831 fix this way
        "%25252e%25252e",
        "%e2%80%a5",  # U+2025 TWO DOT LEADER, NFKC ".."
        "%ef%bc%8e%ef%bc%8e",  # fullwidth full stops
        "..;",  # CVE-2024-1593: ';' path parameters
        "..%3b",
        "..%2500",
        "...",
        "..%20",
    ]
    separators = ["/", "%2f", "%2F", "%252f", "%5c", "\\", "%255c"]
    return [sep.join([up] * levels) + sep for up in parents for sep in separators]


def _traversals(lab: Lab, target: str) -> list[str]:
    """Paths under the artifacts route that would name ``lab.root / target`` if a layer decoded them
    differently from the check. The workspace's store is ``<root>/home/workspaces/<ws>``: three levels."""
    bare = [up + target for up in _ups(3)]
    nested = [f"0/{lab.run_id}/artifacts/" + up + target for up in _ups(6)[::3]]
    absolute = str(lab.root / target)
    spelled = [
        "/" + absolute,  # '//' after the route prefix
        "%2f" + absolute.lstrip("/"),
        "%252f" + absolute.lstrip("/"),
        "file:" + absolute,
        "file:%2f%2f" + absolute,
        "file://localhost" + absolute,
        "C:%5c..%5c..%5c" + target.replace("/", "%5c"),
        "%5c%5c127.0.0.1%5cshare%5c" + target,
        "~/" + target,
        "%7e/" + target,
        "0/x%23/../../../../../" + target,  # a '#' fragment hiding the traversal (CVE-2023-6909 kin)
        "0/x%3f/../../../../../" + target,
        "0/x%2500/../../../../../" + target,
    ]
    return bare + nested + spelled


def _artifact_route(ws: str = "default") -> str:
    return f"/workspaces/{ws}/api/2.0/mlflow-artifacts/artifacts/"


def _assert_paths_refused(lab: Lab, method: str, targets: list[str], *, body: bytes | None = None) -> None:
    """Each artifact path is refused with a 400 (a 404 names nothing); all failures reported together."""
    failures = []
    for target in targets:
        status, content = lab.raw(method, _artifact_route() + target, body=body)
        if status not in (400, 404):
            failures.append(f"{method} {target!r} -> {status} {content[:100]!r}")
    assert failures == [], "\n".join(failures)


class _Recorder(socketserver.TCPServer):
    """A TCP listener on 127.0.0.1 that records every connection (the SSRF target)."""

    allow_reuse_address = True

    def __init__(self) -> None:
        self.seen: list[bytes] = []
        self.connected = threading.Event()
        super().__init__(("127.0.0.1", 0), _RecordConnection)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _RecordConnection(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        assert isinstance(self.server, _Recorder)
        self.request.settimeout(5)
        try:
            data = self.request.recv(4096)
        except OSError:
            data = b""
        self.server.seen.append(data)
        self.server.connected.set()


@pytest.fixture
def listener() -> Iterator[_Recorder]:
    recorder = _Recorder()
    thread = threading.Thread(target=recorder.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield recorder
    recorder.shutdown()
    recorder.server_close()
    thread.join()


def test_cve_2023_1177_model_version_source_cannot_name_a_local_file(lab: Lab) -> None:
    """CVE-2023-1177 (critical): ``model-versions/create`` took any local path or ``file://`` URI as the
    version's ``source``; ``/model-versions/get-artifact`` (or ``get-download-uri`` + download) then served
    files of that directory, so anyone could read e.g. ``/etc/passwd`` or cloud keys from the server."""
    directory, secret = str(lab.outside), str(lab.secret_file)
    _assert_sources_refused(
        lab,
        [
            directory,
            secret,
            "file://" + directory,
            "file://" + secret,
            "file:///etc",
            "file:///etc/passwd",
            "/etc/passwd",
            "etc/passwd",
            "./" + lab.secret_file.name,
            str(lab.server.home),
            "file://" + str(lab.server.home),
        ],
    )
    # A file URI is only ever this workspace's own store, named in full, and stays inside it.
    store = lab.server.home.resolve() / "workspaces"
    _assert_sources_refused(
        lab,
        [
            f"file://{store}/victim/0/{lab.victim_run_id}/artifacts",
            f"file://{store}/default/../victim/0/{lab.victim_run_id}/artifacts",
            f"file://{store}/default/%2e%2e/victim",
            f"file://{store}/default/0/../../../../outside",
            f"file://{store}/default//{lab.outside}",
            f"file://{store}/secret-at-store-root.txt",
            f"file://{store}/default-not/x",
            f"file://{store}",
        ],
    )
    own = _register(lab, f"file://{store}/default/0/{lab.run_id}/model")
    if own.status_code == 200:  # accepted: recorded as the store-relative URI, never as a local path
        version = own.json()["model_version"]["version"]
        params = {"name": MODEL, "version": version}
        uri = _json(lab.call("GET", f"{lab.mlflow()}/model-versions/get-download-uri", params=params))
        assert uri == {"artifact_uri": f"mlflow-artifacts:/0/{lab.run_id}/model"}
    else:
        assert _refused(own) is None, own.text
    # The PoC's second step: the UI routes that served the file do not exist here (and leak nothing).
    for prefix in ("", "/workspaces/default"):
        for route in (
            "/model-versions/get-artifact",
            "/get-artifact",
            "/ajax-api/2.0/mlflow/model-versions/get-artifact",
        ):
            response = lab.call(
                "GET",
                f"{lab.server.url}{prefix}{route}",
                params={"name": MODEL, "version": "1", "path": lab.secret_file.name, "run_uuid": lab.run_id},
            )
            assert response.status_code == 404, (route, response.text)


def test_cve_2023_1177_a_version_names_only_runs_and_models_of_this_workspace(lab: Lab) -> None:
    """CVE-2023-1177's lesson applied to lineage: a version's ``source``, ``run_id`` and ``model_id``
    name runs and logged models of this workspace only; another workspace's (or nobody's) are refused,
    as MLflow refuses a ``run_id`` that does not exist."""
    _assert_sources_refused(
        lab,
        [
            f"runs:/{lab.victim_run_id}/artifacts",
            f"runs:/{lab.victim_run_id}",
            f"models:/{lab.victim_model_id}",
        ],
        not_found_ok=True,
    )
    failures = []
    for source, extra in (
        (f"mlflow-artifacts:/0/{lab.run_id}/model", {"run_id": lab.victim_run_id}),
        (f"mlflow-artifacts:/0/{lab.run_id}/model", {"run_id": "0" * 32}),
        (f"models:/{lab.model_id}", {"model_id": lab.victim_model_id}),
        (f"runs:/{lab.run_id}/model", {"run_id": lab.victim_run_id}),
    ):
        response = _register(lab, source, **extra)
        if why := _refused(response, not_found_ok=True):
            failures.append(f"{source} with {extra}: {why}")
    assert failures == [], "\n".join(failures)


def test_cve_2023_2356_relative_paths_in_sources_and_artifact_reads(lab: Lab) -> None:
    """CVE-2023-2356: a version ``source`` with relative ``../`` segments (any scheme: ``mlflow-artifacts``,
    ``file``, ``http``, object stores) and the artifact paths of the read routes walked out of the artifact
    root, so the server read arbitrary files for the caller."""
    run, model = lab.run_id, lab.model_id
    _assert_sources_refused(
        lab,
        [
            "mlflow-artifacts:/../../../outside",
            "mlflow-artifacts:/0/../../../../outside/" + lab.secret_file.name,
            "mlflow-artifacts:/%2e%2e/%2e%2e/%2e%2e/outside",
            "mlflow-artifacts:/0/a/%252e%252e/%252e%252e/%252e%252e/%252e%252e/outside",
            "mlflow-artifacts:/../victim/0",
            f"runs:/{run}/../../../../../outside",
            f"runs:/{run}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/outside",
            f"runs:/{run}/model/../../../../../../outside",
            "../outside",
            "./../../outside",
            "s3://bucket/../../outside",
            "http://127.0.0.1/../../outside",
        ],
    )
    _assert_sources_refused(
        lab, [f"models:/{model}/../../../../outside", f"runs:/../{run}/x"], not_found_ok=True
    )
    # The same walk on the artifact read and list routes, byte for byte as the PoCs sent it.
    _assert_paths_refused(lab, "GET", _traversals(lab, f"outside/{lab.secret_file.name}"))
    _assert_paths_refused(lab, "GET", _traversals(lab, "home/workspaces/victim/0"))
    for path in [
        "../../../outside",
        "..",
        "../victim",
        "%2e%2e/%2e%2e/%2e%2e/outside",
        "%252e%252e/%252e%252e",
        "..\\..\\..\\outside",
        str(lab.outside),
        "//" + str(lab.outside),
        "file://" + str(lab.outside),
        f"0/{lab.run_id}/artifacts/../../../../../../outside",
    ]:
        response = lab.call("GET", lab.artifacts(), params={"path": path})
        # Refused, or a listing of nothing: never the names in the folder the path walked to.
        assert response.status_code == 400 or response.json() == {}, (path, response.text)


def test_cve_2023_6909_fragment_in_source(lab: Lab) -> None:
    """CVE-2023-6909: a ``#`` fragment in a version ``source`` (``http:///#/../../../etc/passwd``,
    ``file:///#/../..``) was dropped by the URI check but kept by the path conversion, so the traversal in
    the fragment reached the file system."""
    run, secret = lab.run_id, lab.secret_file.name
    _assert_sources_refused(
        lab,
        [
            "http:///#/../../../../../../../../etc/passwd",
            "file:///#/../../../../../../etc/passwd",
            f"file:///#/../../../../..{lab.outside}/{secret}",
            "mlflow-artifacts:/0#/../../../../outside/" + secret,
            "mlflow-artifacts:/0%23/../../../../outside",
            "mlflow-artifacts:/0%2523/../../../../outside",
            f"runs:/{run}/model#/../../../../../../outside",
            f"runs:/{run}/model%23/../../../../../../outside",
            "mlflow-artifacts:/0/model#",
        ],
    )
    _assert_sources_refused(lab, [f"models:/{lab.model_id}#/../../../outside"], not_found_ok=True)


def _assert_locations_refused(lab: Lab, locations: list[str]) -> None:
    failures = []
    for i, location in enumerate(locations):
        name = f"advisory-location-{uuid.uuid4().hex[:6]}-{i}"
        response = lab.call(
            "POST", f"{lab.mlflow()}/experiments/create", json={"name": name, "artifact_location": location}
        )
        if why := _refused(response):
            failures.append(f"{location!r}: {why}")
        lookup = lab.call("GET", f"{lab.mlflow()}/experiments/get-by-name", params={"experiment_name": name})
        if lookup.status_code != 404:
            failures.append(f"{location!r}: the refused experiment exists anyway")
    assert failures == [], "\n".join(failures)


def test_cve_2024_1483_experiment_artifact_location_traversal(lab: Lab) -> None:
    """CVE-2024-1483: ``experiments/create`` with ``artifact_location`` = ``http:///#/../../../etc/`` (a
    local URI with '#' in place of '?'), then a run and a model version under it, let the artifact routes
    walk the server's directories."""
    _assert_locations_refused(
        lab,
        [
            "http:///#/../../../../../../../../etc/",
            "file:///#/../../../../../../etc/",
            "file://" + str(lab.outside),
            str(lab.outside),
            "./outside",
            "mlflow-artifacts:/../../../outside",
            "mlflow-artifacts:/%2e%2e/%2e%2e/%2e%2e/outside",
            "mlflow-artifacts:/0/../../../..",
            "mlflow-artifacts:/../victim",
            "s3://bucket/../../",
            "runs:/" + lab.run_id + "/x",
        ],
    )


def test_cve_2024_3848_fragment_bypass_in_artifact_location(lab: Lab) -> None:
    """CVE-2024-3848: the CVE-2023-6909 fix was bypassed by putting the path into the fragment of an
    experiment's ``artifact_location`` (``#`` skipped validation; the scheme was then ignored and the
    fragment used as a file-system path), giving arbitrary file read (SSH and cloud keys)."""
    _assert_locations_refused(
        lab,
        [
            "mlflow-artifacts:/x#/../../../outside",
            "mlflow-artifacts:/x%23/../../../outside",
            "mlflow-artifacts:/x%2523/../../../outside",
            "mlflow-artifacts:/#" + str(lab.outside),
            "file:///tmp#/../../../etc",
            f"file://{lab.root}#/../outside",
            "http://localhost/#/../../../../etc/",
            "mlflow-artifacts:/x?/../../../outside",
            "mlflow-artifacts:/x;/../../../outside",
        ],
    )


def test_cve_2024_2928_fragment_query_and_params_in_uris(lab: Lab) -> None:
    """CVE-2024-2928 (and CVE-2024-1593's ';' path parameters): a URI's fragment, query or ';' params
    carried a traversal past the checks (which looked at the path component only) into the file-system
    path; no fragments, params or query tricks may reach a stored ``source``."""
    run, secret = lab.run_id, lab.secret_file.name
    _assert_sources_refused(
        lab,
        [
            "mlflow-artifacts:/0/x?path=../../../../outside/" + secret,
            "mlflow-artifacts:/0/x%3fpath=../../../../outside",
            "mlflow-artifacts:/0/x;/../../../../outside",
            "mlflow-artifacts:/0/x%3b/../../../../outside",
            f"runs:/{run}/model?x=/../../../../../../outside",
            f"runs:/{run}/model;/../../../../../../outside",
            "mlflow-artifacts:/0/x%250a",
            "mlflow-artifacts:/0/x\n/../../../outside",
            "mlflow-artifacts:/0/x\u202e",
        ],
    )
    _assert_sources_refused(
        lab, [f"models:/{lab.model_id}?x=1", f"models:/{lab.model_id};x"], not_found_ok=True
    )
    targets = [
        "..;/..;/..;/outside/" + secret,
        "0;/..;/..;/..;/..;/outside/" + secret,
        "0%3b/../../../outside",
    ]
    _assert_paths_refused(lab, "GET", targets)


def test_cve_2024_3573_scheme_confusion_in_source(lab: Lab) -> None:
    """CVE-2024-3573 (and CVE-2023-6977, CVE-2023-2780): ``is_local_uri`` misclassified URIs with an empty
    or odd ``file`` scheme (``file:etc/passwd``, ``//proc/self/root/...``, backslashes, mixed case), so a
    local path passed as remote and the version's files were read from the server's disk."""
    secret = str(lab.secret_file)
    _assert_sources_refused(
        lab,
        [
            "file:etc/passwd",
            "file:/etc/passwd",
            "file:" + secret,
            "FILE://" + secret,
            "File:" + secret,
            "fIlE:///etc/passwd",
            "file://localhost" + secret,
            "file:////" + secret,
            " file://" + secret,
            "\tfile://" + secret,
            "//proc/self/root" + secret,
            "///etc/passwd",
            "file:\\\\..\\..\\etc\\passwd",
            "file:///..\\..\\..\\etc\\passwd",  # CVE-2023-2780
            "mlflow-artifacts:/0\\..\\..\\..\\outside",
            "mlflow-artifacts:/0/%5c..%5c..%5c..%5coutside",
            f"runs:/{lab.run_id}/..\\..\\..\\outside",
            "C:\\Windows\\win.ini",
            "c:/windows/win.ini",
            "\\\\127.0.0.1\\share\\x",
            "MLFLOW-ARTIFACTS:/0/x",
            "Mlflow-Artifacts:/0/x",
            "RUNS:/" + lab.run_id + "/model",
            "Models:/" + lab.model_id,
            "mlflow-artifacts",
            "mlflow-artifacts:",
            "runs:",
            "models:",
            "dbfs:/x",
            "hdfs://namenode/x",
            "local:/x",
            "jar:file:" + secret + "!/",
            "",
        ],
    )


def test_paths_that_are_not_utf8_are_refused_not_rewritten(lab: Lab) -> None:
    """The advisories' overlong-UTF-8 spelling of ``..`` (``%c0%ae``): a path whose percent-encoding is
    not UTF-8 is refused, as the canonicaliser promises, not decoded lossily into U+FFFD and stored under
    a name the client never sent (two different requests would then name one object)."""
    failures = []
    for spelled in ["%c0%ae%c0%ae", "%c0%ae", "%ff%fe", "%e2%80", "%ed%a0%80"]:
        target = f"0/{lab.run_id}/artifacts/{spelled}/x.txt"
        for method, route in (
            ("PUT", _artifact_route()),
            ("DELETE", _artifact_route()),
            ("POST", "/workspaces/default/api/2.0/mlflow-artifacts/mpu/create/"),
        ):
            body = b"x" if method == "PUT" else json.dumps({"path": "f", "num_parts": 1}).encode()
            status, content = lab.raw(
                method,
                route + target,
                body=body if method != "DELETE" else None,
                content_type="application/json" if method == "POST" else None,
            )
            if status != 400:
                failures.append(f"{method} {route}{target} -> {status} {content[:80]!r}")
    listing = lab.call("GET", lab.artifacts(), params={"path": f"0/{lab.run_id}/artifacts"})
    assert failures == [], "\n".join(failures)
    assert not any("\ufffd" in f["path"] for f in listing.json().get("files", [])), listing.text


def test_cve_2023_6974_ssrf_via_source_and_artifact_location(lab: Lab, listener: _Recorder) -> None:
    """CVE-2023-6974: a model version ``source`` (or an experiment ``artifact_location``) naming an HTTP
    URL made the server fetch it: requests to internal services and cloud metadata endpoints (SSRF).
    The server may contact only its artifact store and registered datastores."""
    port = listener.port
    urls = [
        f"http://127.0.0.1:{port}/model",
        f"https://127.0.0.1:{port}/model",
        f"http://localhost:{port}/model",
        f"http://[::1]:{port}/model",
        f"http://2130706433:{port}/model",
        f"http://0x7f.1:{port}/model",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://metadata.google.internal/computeMetadata/v1/",
        f"ftp://127.0.0.1:{port}/x",
        f"gopher://127.0.0.1:{port}/_GET",
        f"s3://127.0.0.1:{port}/bucket/key",
        f"gs://127.0.0.1:{port}/bucket",
        f"wasbs://c@127.0.0.1:{port}/x",
        f"mlflow-artifacts://127.0.0.1:{port}/0/x",
        f"mlflow-artifacts://localhost:{port}/0/x",
        f"//127.0.0.1:{port}/x",
        f"http:127.0.0.1:{port}/x",
    ]
    _assert_sources_refused(lab, urls)
    _assert_sources_refused(
        lab, [f"runs://127.0.0.1:{port}/x", f"models://127.0.0.1:{port}/m-1"], not_found_ok=True
    )
    _assert_locations_refused(lab, urls)
    # An authority that the canonicaliser can drop is dropped: no URI handed to a client names a host,
    # or the stock client would send its token there.
    version = _register(lab, "mlflow-artifacts://attacker.example/0/model")
    if version.status_code == 200:
        source = version.json()["model_version"]["source"]
        assert source.startswith("mlflow-artifacts:/") and not source.startswith("mlflow-artifacts://")
        uri = _json(
            lab.call(
                "GET",
                f"{lab.mlflow()}/model-versions/get-download-uri",
                params={"name": MODEL, "version": version.json()["model_version"]["version"]},
            )
        )["artifact_uri"]
        assert not uri.startswith("mlflow-artifacts://"), uri
    else:
        assert _refused(version) is None, version.text
    created = lab.call(
        "POST",
        f"{lab.mlflow()}/experiments/create",
        json={"name": "advisory-authority", "artifact_location": "mlflow-artifacts://attacker.example/x"},
    )
    if created.status_code == 200:
        experiment_id = created.json()["experiment_id"]
        location = _json(
            lab.call("GET", f"{lab.mlflow()}/experiments/get", params={"experiment_id": experiment_id})
        )["experiment"]["artifact_location"]
        run = lab.new_run(experiment_id=experiment_id)
        model = lab.new_logged_model(experiment_id=experiment_id, name="a")
        for uri in (location, run["artifact_uri"], model["artifact_uri"]):
            assert uri.startswith("mlflow-artifacts:/") and not uri.startswith("mlflow-artifacts://"), uri
    else:
        assert _refused(created) is None
    assert listener.seen == [], f"the server connected to the SSRF target: {listener.seen!r}"
    # The listener itself works: a connection would have been seen.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as probe:
        probe.sendall(b"probe")
    assert listener.connected.wait(30) and listener.seen == [b"probe"]


def test_cve_2023_6976_uploads_cannot_write_outside_the_store(lab: Lab) -> None:
    """CVE-2023-6976: the artifact upload path (``/ajax-api/2.0/mlflow/upload-artifact`` and the proxied
    ``PUT``) was not validated, so a crafted ``path`` wrote arbitrary files anywhere the server could
    (arbitrary file write, up to code execution)."""
    payload = f"PWNED-{uuid.uuid4().hex}".encode()
    targets = [
        *_traversals(lab, "outside/written.txt"),
        *_traversals(lab, f"outside/{lab.secret_file.name}"),  # overwrite a file that exists
        *_traversals(lab, "home/admin-token"),  # replace the admin token: take over the server
        *_traversals(lab, "home/master.key"),
        *_traversals(lab, "home/workspaces/victim/0/" + lab.victim_run_id + "/artifacts/secret.txt"),
    ]
    _assert_paths_refused(lab, "PUT", targets, body=payload)
    for ws in ("", "/workspaces/default"):
        response = lab.call(
            "POST",
            f"{lab.server.url}{ws}/ajax-api/2.0/mlflow/upload-artifact",
            params={"run_uuid": lab.run_id, "path": "../../../../../../outside/written.txt"},
            content=payload,
        )
        assert response.status_code == 404, response.text
    assert not (lab.outside / "written.txt").exists()
    # The admin token still works (it was not replaced) and no file anywhere outside holds the payload.
    assert lab.call("GET", f"{lab.server.url}/api/v1/me").status_code == 200
    assert not any(
        payload in path.read_bytes()
        for path in lab.root.rglob("*")
        if path.is_file() and path.suffix != ".out"
    )


def test_cve_2023_6976_multipart_uploads_cannot_write_outside_the_store(lab: Lab) -> None:
    """CVE-2023-6976 through the multipart routes: neither the folder of ``mpu/create|complete`` nor the
    file name in their body (which MLflow reduces to its basename) may place bytes outside the store."""
    payload = f"PWNED-MPU-{uuid.uuid4().hex}".encode()
    mpu = "/workspaces/default/api/2.0/mlflow-artifacts/mpu"
    start = json.dumps({"path": "written.txt", "num_parts": 1}).encode()
    failures = []
    for target in _traversals(lab, "outside"):
        status, content = lab.raw(
            "POST", f"{mpu}/create/{target}", body=start, content_type="application/json"
        )
        if status not in (400, 404):
            failures.append(f"create {target!r} -> {status} {content[:100]!r}")
    assert failures == [], "\n".join(failures)
    folder = f"0/{lab.run_id}/artifacts/mpu"
    names = [
        "../../../../../../../outside/written.txt",
        "%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/outside/written.txt",
        str(lab.outside / "written.txt"),
        "..\\..\\..\\..\\..\\..\\..\\outside\\written.txt",
        "..",
        "x#/../../../../../../../outside/written.txt",
    ]
    for name in names:
        created = lab.call(
            "POST", f"{lab.server.url}{mpu}/create/{folder}", json={"path": name, "num_parts": 1}
        )
        if created.status_code != 200:
            assert _refused(created) is None, (name, created.text)
            continue
        # Accepted as a file name: the whole upload must land inside the run's folder.
        body = created.json()
        part = httpx.put(body["credentials"][0]["url"], content=payload, timeout=60)
        lab.check("PUT", "part", part.status_code, part.content)
        etag = part.headers.get("ETag", "").strip('"')
        done = lab.call(
            "POST",
            f"{lab.server.url}{mpu}/complete/{folder}",
            json={"path": name, "upload_id": body["upload_id"], "parts": [{"part_number": 1, "etag": etag}]},
        )
        assert done.status_code in (200, 400), (name, done.text)
        listing = _json(lab.call("GET", lab.artifacts(), params={"path": folder}))
        assert all("/" not in f["path"] for f in listing.get("files", [])), listing
    assert not (lab.outside / "written.txt").exists()


def test_fragment_or_query_before_dot_segments_is_refused_not_a_500(lab: Lab) -> None:
    """A '#' or '?' in a segment before '..' segments (the fragment tricks of CVE-2023-6909 and
    CVE-2024-3848, on the artifact routes). Percent-encoded, both are refused as unsafe characters. Sent
    as they are, '?' starts a query string, which these routes refuse (400, not a write to the path before
    it), and '#' starts a fragment, which HTTP servers never see. A '#' or '?' right after ``artifacts/``
    leaves no path at all: that was a 500 on PUT, and is a 400 now. Nothing is written, read or deleted."""
    payload = f"PWNED-FRAGMENT-{uuid.uuid4().hex}".encode()
    own = f"0/{lab.run_id}/artifacts/"
    escapes = "../../../../../../outside/written.txt"
    targets = [
        *(f"{mark}/{escapes}" for mark in ("%23", "%3F", "%3f", "?", "?x=1&")),
        *(
            f"{own}{seg}/{escapes}"
            for seg in ("%23", "x%23", "x%23y", "%3F", "x%3f", "x?", "?", "x%2523", "x%253F")
        ),
        *(f"{own}x/{mark}/../../y.txt" for mark in ("%23", "%3F", "?")),
        "#",
        f"#/{escapes}",
        "#/x.txt",
        "?",
        f"?/{escapes}",
    ]
    for method in ("PUT", "GET", "DELETE"):
        failures = []
        for target in targets:
            status, content = lab.raw(
                method, _artifact_route() + target, body=payload if method == "PUT" else None
            )
            code = json.loads(content).get("error_code") if content.startswith(b"{") else None
            if (status, code) != (400, "INVALID_PARAMETER_VALUE"):
                failures.append(f"{method} {target!r} -> {status} {content[:120]!r}")
        assert failures == [], "\n".join(failures)
    assert not (lab.outside / "written.txt").exists()
    listing = _json(lab.call("GET", lab.artifacts(), params={"path": own.rstrip("/")}))
    assert listing == {} or all(f["path"] != "x" for f in listing["files"]), listing
    # A literal '#' ends the path on the wire: the server is sent ``.../x`` and writes nothing else.
    status, _ = lab.raw("PUT", _artifact_route() + f"{own}frag#/{escapes}", body=payload)
    assert status == 200
    assert lab.call("GET", f"{lab.artifacts()}/{own}frag").content == payload
    assert not (lab.outside / "written.txt").exists()


def test_cve_2024_1560_and_cve_2023_6831_deletes_stay_inside_their_path(lab: Lab) -> None:
    """CVE-2023-6831: ``DELETE`` of an artifact with a traversal in its path deleted arbitrary files and
    folders on the server. CVE-2024-1560 bypassed that fix with double URL-encoding (the path was decoded
    once more after the check)."""
    own = f"0/{lab.run_id}/artifacts/keep/me.txt"
    assert lab.call("PUT", f"{lab.artifacts()}/{own}", content=b"mine").status_code == 200
    targets = [
        *_traversals(lab, f"outside/{lab.sentinel_file.name}"),
        *_traversals(lab, "outside"),
        *_traversals(lab, "home/workspaces/victim"),
        *_traversals(lab, "home/workspaces/secret-at-store-root.txt"),
        *_traversals(lab, "home/stratus.db"),
        *_traversals(lab, "home"),
        f"0/{lab.run_id}/artifacts/keep/x/../../../../../../../..",
        f"0/{lab.run_id}/artifacts/keep/x/%252e%252e/%252e%252e/%252e%252e/%252e%252e/%252e%252e",
    ]
    _assert_paths_refused(lab, "DELETE", targets)
    assert lab.sentinel_file.read_bytes() == b"must survive every delete"
    assert lab.call("GET", f"{lab.artifacts()}/{own}").content == b"mine"
    victim = f"{lab.artifacts('victim')}/0/{lab.victim_run_id}/artifacts/secret.txt"
    assert httpx.get(victim, headers={"Authorization": f"Bearer {lab.token}"}).status_code == 200
    assert lab.call("GET", f"{lab.server.url}/ready").status_code == 200


def test_cve_2024_1560_a_delete_naming_the_store_root_is_refused(lab: Lab) -> None:
    """CVE-2024-1560's class, one step further: a delete path that canonicalises to nothing
    (``artifacts/``, ``artifacts/.``, ``artifacts/%2e``) names the workspace's whole artifact store. One
    request must not wipe every run's and every model's artifacts (and the datastore under them)."""
    keep = f"{lab.artifacts('wipe')}/0/some-run/artifacts/keep.txt"
    assert lab.call("PUT", keep, content=b"keep").status_code == 200
    wiped = []
    for target in ["", ".", "%2e", "./", "./.", "%2e/%2e", "%252e", "0/.."]:
        status, content = lab.raw("DELETE", _artifact_route("wipe") + target)
        survived = lab.call("GET", keep).status_code == 200
        if status not in (400, 404, 405) or not survived:
            wiped.append(f"DELETE {target!r} -> {status} {content[:120]!r}; keep.txt survived: {survived}")
        if not survived:
            assert lab.call("PUT", keep, content=b"keep").status_code == 200
    assert wiped == [], "\n".join(wiped)


def test_cve_2023_43472_every_mlflow_route_needs_a_token(lab: Lab) -> None:
    """CVE-2023-43472: the MLflow REST API answered crafted unauthenticated requests with sensitive
    information. Every MLflow route (all four prefixes, reads included) needs a valid token with a role
    in the workspace: 401 without one, 403 for a stranger to the workspace. The one route authorised by
    a signed URL instead (multipart part uploads) answers 401 to every token without its signature."""
    stranger = _user_token(lab, "advisory-stranger", role=None, workspace="team")
    routes = _mlflow_routes()
    assert len(routes) > 100
    failures = []
    credentials: list[tuple[str, dict[str, str], int]] = [
        ("no token", {}, 401),
        ("a forged token", {"Authorization": "Bearer stratus_not-a-real-token"}, 401),
        ("basic auth", {"Authorization": "Basic " + base64.b64encode(b"admin:admin").decode()}, 401),
        ("an empty bearer", {"Authorization": "Bearer"}, 401),
        ("a stranger's token", {"Authorization": f"Bearer {stranger}"}, 403),
    ]
    with httpx.Client(base_url=lab.server.url, timeout=60) as client:
        for method, path, signed in routes:
            url = path.replace("{workspace_name}", "default")
            url = re.sub(r"\{[^}]+\}", "x", url)
            for what, headers, expected_for_a_token_route in credentials:
                expected = 401 if signed else expected_for_a_token_route
                response = client.request(method, url, headers=headers, json={} if method != "GET" else None)
                lab.check(method, url, response.status_code, response.content)
                code = (
                    response.json().get("error_code")
                    if "json" in response.headers.get("content-type", "")
                    else None
                )
                wanted = {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED"}[expected]
                if (response.status_code, code) != (expected, wanted):
                    failures.append(
                        f"{method} {url} with {what}: {response.status_code} {response.text[:120]}"
                    )
    assert failures == [], "\n".join(failures[:30])


def _mlflow_routes() -> list[tuple[str, str, bool]]:
    """(method, path, signed) of every MLflow route of the app, with and without the workspace prefix;
    ``signed`` routes (multipart part uploads) are authorised by a signed URL and never by a token."""
    from fastapi.routing import APIRoute

    from stratus.config import Settings
    from stratus.server.app import api_routes, create_app
    from stratus.server.state import bootstrap

    with tempfile.TemporaryDirectory() as home:
        state = bootstrap(Settings(home=Path(home)))
        try:
            routes: list[APIRoute] = api_routes(create_app(state))
        finally:
            state.close()
    return sorted(
        (method, route.path, bool((route.openapi_extra or {}).get("x-stratus-signed-url")))
        for route in routes
        if "/api/2.0/mlflow" in route.path or "/api/3.0/mlflow" in route.path
        for method in route.methods or ()
    )


def _user_token(lab: Lab, user: str, *, role: str | None, workspace: str) -> str:
    if user in lab.users:
        return lab.users[user]
    base = lab.server.url + "/api/v1"
    assert lab.call("POST", f"{base}/users", json={"name": user}).status_code == 201
    if role is not None:
        assigned = lab.call(
            "POST", f"{base}/workspaces/{workspace}/role-assignments", json={"user": user, "role": role}
        )
        assert assigned.status_code == 201, assigned.text
    created = lab.call("POST", f"{base}/tokens", json={"user": user, "expires_in": "1h"})
    assert created.status_code == 201, created.text
    lab.users[user] = str(created.json()["token"])
    return lab.users[user]


def test_cve_2024_4263_low_privilege_roles_cannot_delete(lab: Lab) -> None:
    """CVE-2024-4263: a user with only EDIT permission could delete artifacts, which MLflow's permission
    model forbids (broken access control). Here a Reader, a Compute Operator and a stranger to the
    workspace cannot delete (or overwrite) artifacts, runs, experiments, models or versions; a Data
    Scientist can (DESIGN.md section 6)."""
    ws, base, artifacts = "team", lab.mlflow("team"), lab.artifacts("team")
    experiment_id = _json(lab.call("POST", f"{base}/experiments/create", json={"name": "kept"}))[
        "experiment_id"
    ]
    run_id = lab.new_run(ws, experiment_id)["run_id"]
    artifact = f"{artifacts}/{experiment_id}/{run_id}/artifacts/keep.txt"
    assert lab.call("PUT", artifact, content=b"keep").status_code == 200
    model_id = lab.new_logged_model(ws, experiment_id, name="kept")["model_id"]
    assert lab.call("POST", f"{base}/registered-models/create", json={"name": "kept"}).status_code == 200
    source = f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts"
    assert (
        lab.call("POST", f"{base}/model-versions/create", json={"name": "kept", "source": source}).status_code
        == 200
    )
    alias = {"name": "kept", "alias": "prod", "version": "1"}
    assert lab.call("POST", f"{base}/registered-models/alias", json=alias).status_code == 200

    attempts: list[tuple[str, str, dict[str, Any]]] = [
        ("DELETE", artifact, {}),
        ("DELETE", f"{artifacts}/{experiment_id}/{run_id}", {}),
        ("DELETE", f"{artifacts}/{experiment_id}", {}),
        ("PUT", artifact, {"content": b"overwritten"}),
        ("POST", f"{base}/runs/delete", {"json": {"run_id": run_id}}),
        ("POST", f"{base}/experiments/delete", {"json": {"experiment_id": experiment_id}}),
        ("DELETE", f"{base}/logged-models/{model_id}", {}),
        ("DELETE", f"{base}/model-versions/delete", {"json": {"name": "kept", "version": "1"}}),
        ("DELETE", f"{base}/registered-models/delete", {"json": {"name": "kept"}}),
        ("DELETE", f"{base}/registered-models/alias", {"json": {"name": "kept", "alias": "prod"}}),
    ]
    failures = []
    for user, role in (("t-reader", "Reader"), ("t-operator", "Compute Operator"), ("t-stranger", None)):
        token = _user_token(lab, user, role=role, workspace=ws)
        for method, url, kwargs in attempts:
            response = lab.call(method, url, token=token, **kwargs)
            if response.status_code != 403 or response.json().get("error_code") != "PERMISSION_DENIED":
                failures.append(f"{user}: {method} {url} -> {response.status_code} {response.text[:120]}")
    assert failures == [], "\n".join(failures)
    # Everything is still there, unchanged.
    assert lab.call("GET", artifact).content == b"keep"
    assert (
        _json(lab.call("GET", f"{base}/runs/get", params={"run_id": run_id}))["run"]["info"][
            "lifecycle_stage"
        ]
        == "active"
    )
    experiment = _json(lab.call("GET", f"{base}/experiments/get", params={"experiment_id": experiment_id}))
    assert experiment["experiment"]["lifecycle_stage"] == "active"
    assert lab.call("GET", f"{base}/logged-models/{model_id}").status_code == 200
    by_alias = lab.call("GET", f"{base}/registered-models/alias", params={"name": "kept", "alias": "prod"})
    assert by_alias.status_code == 200 and by_alias.json()["model_version"]["version"] == "1"
    # The same request from a role that may delete does delete: the checks above could have failed.
    scientist = _user_token(lab, "t-scientist", role="Data Scientist", workspace=ws)
    assert lab.call("DELETE", artifact, token=scientist).status_code == 200
    assert lab.call("GET", artifact).status_code == 404


class _MakesCanary:
    """Unpickling this calls ``os.mkdir(path)``: the canary of the deserialization advisories."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.mkdir, (self.path,))


MLMODEL = """\
artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.sklearn
    model_path: model.pkl
    predict_fn: predict
    python_version: 3.11.0
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.5.0
mlflow_version: 3.17.2
model_id: {model_id}
model_uuid: {uuid}
"""


def test_cve_2024_37052_to_37060_the_server_never_unpickles_a_model(lab: Lab, tmp_path: Path) -> None:
    """CVE-2024-37052 to CVE-2024-37060: MLflow deserialised model artifacts (pickle/cloudpickle for
    scikit-learn, PyTorch, LightGBM, pmdarima, Langchain, TensorFlow-Keras lambdas, recipes), so a crafted
    model ran code wherever it was loaded. The server only stores and serves bytes: every registry,
    logged-model, run and artifact read of a poisoned model leaves its canary untouched."""
    canary = tmp_path / "canary"  # outside the lab root, so the positive control below is not a change there
    poison = pickle.dumps(_MakesCanary(str(canary)))
    base, artifacts = lab.mlflow(), lab.artifacts()
    run_id = lab.new_run()["run_id"]
    model = lab.new_logged_model(name="poisoned", source_run_id=run_id)
    model_id, model_path = model["model_id"], model["artifact_uri"].removeprefix("mlflow-artifacts:/")
    run_path = f"0/{run_id}/artifacts/model"
    for folder in (run_path, model_path):
        mlmodel = MLMODEL.format(model_id=model_id, uuid=uuid.uuid4().hex).encode()
        for name, content in (("MLmodel", mlmodel), ("model.pkl", poison), ("python_model.pkl", poison)):
            assert lab.call("PUT", f"{artifacts}/{folder}/{name}", content=content).status_code == 200
    finalize = {"model_id": model_id, "status": "LOGGED_MODEL_READY"}
    assert lab.call("PATCH", f"{base}/logged-models/{model_id}", json=finalize).status_code == 200
    assert lab.call("POST", f"{base}/registered-models/create", json={"name": "poisoned"}).status_code == 200
    for source, extra in (
        (f"models:/{model_id}", {"model_id": model_id}),
        (f"runs:/{run_id}/model", {"run_id": run_id}),
        (f"mlflow-artifacts:/{run_path}", {}),
    ):
        created = lab.call(
            "POST", f"{base}/model-versions/create", json={"name": "poisoned", "source": source, **extra}
        )
        assert created.status_code == 200, created.text
    alias = {"name": "poisoned", "alias": "champion", "version": "1"}
    assert lab.call("POST", f"{base}/registered-models/alias", json=alias).status_code == 200

    reads: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", f"{base}/registered-models/get", {"params": {"name": "poisoned"}}),
        ("GET", f"{base}/registered-models/search", {"params": {"filter": "name = 'poisoned'"}}),
        ("POST", f"{base}/registered-models/get-latest-versions", {"json": {"name": "poisoned"}}),
        ("GET", f"{base}/registered-models/get-latest-versions", {"params": {"name": "poisoned"}}),
        ("GET", f"{base}/registered-models/alias", {"params": {"name": "poisoned", "alias": "champion"}}),
        ("GET", f"{base}/model-versions/search", {"params": {"filter": "name = 'poisoned'"}}),
        ("GET", f"{base}/logged-models/{model_id}", {}),
        ("POST", f"{base}/logged-models/search", {"json": {"experiment_ids": ["0"]}}),
        ("GET", f"{base}/runs/get", {"params": {"run_id": run_id}}),
        ("POST", f"{base}/runs/search", {"json": {"experiment_ids": ["0"]}}),
        ("GET", artifacts, {"params": {"path": run_path}}),
        ("GET", artifacts, {"params": {"path": model_path}}),
        (
            "GET",
            f"{lab.server.url}/model-versions/get-artifact",
            {"params": {"name": "poisoned", "version": "1", "path": "model.pkl"}},
        ),
    ]
    for version in ("1", "2", "3"):
        reads += [
            ("GET", f"{base}/model-versions/get", {"params": {"name": "poisoned", "version": version}}),
            (
                "GET",
                f"{base}/model-versions/get-download-uri",
                {"params": {"name": "poisoned", "version": version}},
            ),
        ]
    for folder in (run_path, model_path):
        for name in ("MLmodel", "model.pkl", "python_model.pkl"):
            reads.append(("GET", f"{artifacts}/{folder}/{name}", {}))
    reads += [
        (m, u.replace("/api/2.0/", "/ajax-api/2.0/"), k) for m, u, k in reads if "/api/2.0/mlflow/" in u
    ]
    served = b""
    for method, url, kwargs in reads:
        response = lab.call(method, url, **kwargs)
        if url.endswith("/model.pkl") and response.status_code == 200:
            served = response.content
    assert not canary.exists(), "the server unpickled a user's artifact"
    # The bytes served are the live payload: loading them, as a careless client would, trips the canary.
    assert served == poison
    subprocess.run(
        [sys.executable, "-c", "import pickle, sys; pickle.loads(sys.stdin.buffer.read())"],
        input=served,
        check=True,
        timeout=60,
    )
    assert canary.is_dir()
