"""Datastore URIs: ``azureml://datastores/<name>/paths/<path>`` and the cloud URIs that name the same places.

Paths come out in the artifact canonical form (:func:`stratus.artifacts.canonicalize`), so what is
checked here is exactly what the datastore's :class:`ArtifactStore` later reads or writes. Stricter than
the store, a URI may not hide structure: empty or ``.`` segments (``a//b``, ``a/./b``) and encoded
slashes (``%2F``) are refused, where the store would quietly collapse them; one trailing slash marks a
folder.

Cloud URIs (``wasbs://``, ``abfss://``, ``https://``, ``s3://``, ``file://``) are mapped to a registered
datastore by :func:`match_cloud_uri`. Decisions:

* ``az://<container>/`` and ``abfs[s]://<container>/`` without an account are not matched: they do not
  say which storage account they mean, and two datastores may have equally named containers.
* ``http://`` and ``https://`` (and ``wasb``/``wasbs``, ``abfs``/``abfss``) forms of one location are all
  accepted: the scheme a user writes never changes how the server connects (the datastore's own
  ``protocol`` does).
* Local datastores are reached by ``azureml://datastores/<name>/paths/...`` or ``file://`` URIs under
  their folder; a bare path is never matched, because a bare path in a spec is the client's own file,
  to be uploaded, and the server never opens client-supplied local paths.
* URIs with a query string or fragment are refused outright rather than matched without it: a SAS token
  in a URI would otherwise end up stored in plain text. Credentials belong to the datastore.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from stratus.artifacts.errors import UnsafePathError
from stratus.artifacts.paths import MAX_DECODE_ROUNDS, canonicalize
from stratus.datastores.config import check_type, container_field, is_emulator, normalize_config
from stratus.errors import InvalidInputError

__all__ = [
    "DatastorePath",
    "cloud_prefixes",
    "format_datastore_uri",
    "match_cloud_uri",
    "parse_datastore_uri",
]

# Azure: "case insensitive, can only contain alphanumeric characters and underscore" (as the specs).
_DATASTORE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]{0,254}")
# Subscription, resource group and workspace are only compared, never used as paths; still plain tokens.
_ID_PART = r"[A-Za-z0-9][A-Za-z0-9_.()-]{0,89}"
_DATASTORE_URI = re.compile(
    rf"azureml://(?:subscriptions/(?P<subscription>{_ID_PART})/resourcegroups/(?P<group>{_ID_PART})/"
    rf"workspaces/(?P<workspace>{_ID_PART})/)?datastores/(?P<name>[^/]*)/paths/(?P<path>.*)",
    re.IGNORECASE | re.DOTALL,
)
# Kept readable in formatted URIs (Hive-style partitions "date=2024-01-01"); everything else is encoded.
_SAFE_IN_PATH = "/=@,+"
# Schemes whose userinfo is the container (``<container>@<account host>``), not a user name.
_CONTAINER_AT_HOST = ("wasb", "wasbs", "abfs", "abfss")


@dataclass(frozen=True)
class DatastorePath:
    """A location in a datastore: its ``name``, the canonical ``path`` in it ("" is its root) and
    whether it was written as a folder (a trailing slash). The long azureml:// form also carries the
    workspace (and subscription and resource group, which Stratus only compares)."""

    name: str
    path: str
    is_folder: bool = False
    workspace: str | None = None
    subscription_id: str | None = None
    resource_group: str | None = None

    @property
    def uri(self) -> str:
        """The short ``azureml://datastores/...`` form."""
        return format_datastore_uri(self.name, self.path, is_folder=self.is_folder)


def parse_datastore_uri(uri: str, *, field: str = "path") -> DatastorePath:
    """Parse ``azureml://datastores/<name>/paths/<path>`` or the long form
    ``azureml://subscriptions/<s>/resourcegroups/<rg>/workspaces/<ws>/datastores/<name>/paths/<path>``.

    Scheme and keywords are case-insensitive; the name and path keep their case. Malformed URIs and
    unsafe paths raise InvalidInputError on ``field``.
    """
    if not isinstance(uri, str):
        raise InvalidInputError(f"{field} must be a string URI", field=field)
    _refuse_query(uri, field)
    match = _DATASTORE_URI.fullmatch(uri)
    if match is None:
        raise InvalidInputError(
            f"{_shown(uri)} is not a datastore URI; write azureml://datastores/<name>/paths/<path> (or "
            "azureml://subscriptions/<s>/resourcegroups/<rg>/workspaces/<ws>/datastores/<name>/paths/<path>)",
            field=field,
        )
    name = _check_name(match.group("name"), field)
    path, is_folder = canonical_path(match.group("path"), field)
    return DatastorePath(
        name=name,
        path=path,
        is_folder=is_folder,
        workspace=match.group("workspace"),
        subscription_id=match.group("subscription"),
        resource_group=match.group("group"),
    )


def format_datastore_uri(name: str, path: str, *, is_folder: bool = False) -> str:
    """``azureml://datastores/<name>/paths/<path>``, percent-encoded; the root and folders end in '/'."""
    _check_name(name, "name")
    try:
        key = canonicalize(path)
    except UnsafePathError as exc:
        raise InvalidInputError(f"unsafe datastore path {_shown(path)}: {exc.reason}", field="path") from None
    folder = "/" if is_folder and key else ""
    return f"azureml://datastores/{name}/paths/{quote(key, safe=_SAFE_IN_PATH)}{folder}"


def cloud_prefixes(type: str, config: Mapping[str, Any]) -> list[str]:
    """Every URI prefix, ending in '/', that names the root of a datastore in a user's own words.

    azure_blob: ``wasbs://<c>@<account>.blob.<endpoint>/``, ``wasb://...``, ``https://<account>.blob.
    <endpoint>/<c>/``, ``http://...``. azure_data_lake_gen2: ``abfss://<fs>@<account>.dfs.<endpoint>/``,
    ``abfs://...``, ``https://<account>.dfs.<endpoint>/<fs>/``, ``http://...`` and the blob-host forms.
    An emulator endpoint (with a port) has only the path-style ``http(s)://<endpoint>/<account>/<c>/``.
    s3: ``s3://<bucket>/<prefix>/``. local: ``file://<path>/``.
    """
    return [prefix.render() for prefix in _prefixes(type, config)]


def match_cloud_uri(
    uri: str,
    datastores: Iterable[tuple[str, str, Mapping[str, Any]]],
    *,
    field: str = "path",
) -> DatastorePath | None:
    """The datastore location a cloud URI names, among ``(name, type, config)`` datastores, or None.

    The longest matching prefix wins (a datastore on ``s3://b/team/`` beats one on ``s3://b/``); on a
    tie, the first datastore given. Scheme and host compare case-insensitively, containers, buckets
    and paths compare segment by segment after percent-decoding (``s3://data/`` never matches
    ``s3://data2/x``); a ``file://`` URI must use the local datastore's folder as registered. None means
    no registered datastore holds the location (also for bare paths and azureml:// URIs, which
    :func:`parse_datastore_uri` reads). Query strings, fragments, credentials in the URI and unsafe
    paths raise InvalidInputError on ``field``.
    """
    if not isinstance(uri, str):
        raise InvalidInputError(f"{field} must be a string URI", field=field)
    if "://" not in uri or uri[: uri.index("://")].lower() == "azureml":
        return None
    _refuse_query(uri, field)
    try:
        parts = urlsplit(uri)
    except ValueError:  # e.g. an unbalanced '[' in the host
        raise InvalidInputError(f"{_shown(uri, redact=True)} is not a valid URI", field=field) from None
    scheme = parts.scheme.lower()
    netloc = _netloc(scheme, parts.netloc, uri, field)
    if netloc is None:
        return None
    segments, is_folder = _segments(parts.path.removeprefix("/"), field)

    best: tuple[int, str] | None = None
    for name, kind, config in datastores:
        for prefix in _prefixes(kind, config):
            size = len(prefix.segments)
            if (
                prefix.scheme == scheme
                and prefix.netloc == netloc
                and tuple(segments[:size]) == prefix.segments
                and (best is None or size > best[0])
            ):
                best = (size, name)
    if best is None:
        return None
    size, name = best
    rest = segments[size:]
    path = _joined(rest, uri, field)
    return DatastorePath(name=name, path=path, is_folder=is_folder or not rest)


def canonical_path(raw: str, field: str = "path") -> tuple[str, bool]:
    """``(canonical path, is_folder)`` of a URI path: percent-decoded and checked like artifact paths,
    with empty and ``.`` segments and encoded slashes refused; one trailing '/' means a folder."""
    segments, is_folder = _segments(raw, field)
    return _joined(segments, raw, field), is_folder


# -- internals --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prefix:
    scheme: str
    netloc: str
    segments: tuple[str, ...]

    def render(self) -> str:
        path = "/".join(quote(s, safe=_SAFE_IN_PATH) for s in self.segments)
        return f"{self.scheme}://{self.netloc}/{path + '/' if path else ''}"


def _prefixes(kind: str, config: Mapping[str, Any]) -> list[_Prefix]:
    kind = check_type(kind)
    cfg = normalize_config(kind, config)
    if kind == "s3":
        prefix = cfg.get("prefix", "")
        return [_Prefix("s3", cfg["bucket"], tuple(prefix.split("/")) if prefix else ())]
    if kind == "local":
        parts = tuple(p for p in str(cfg["path"]).split("/") if p)
        return [_Prefix("file", "", parts)]
    account, endpoint = cfg["account_name"], cfg["endpoint"]
    container = cfg[container_field(kind)]
    if is_emulator(cfg):
        # Azurite serves every account path-style; it has no separate dfs host.
        return [_Prefix(s, endpoint, (account, container)) for s in ("https", "http")]
    blob = f"{account}.blob.{endpoint}"
    found = []
    if kind == "azure_data_lake_gen2":
        dfs = f"{account}.dfs.{endpoint}"
        found += [_Prefix(s, f"{container}@{dfs}", ()) for s in ("abfss", "abfs")]
        found += [_Prefix(s, dfs, (container,)) for s in ("https", "http")]
    found += [_Prefix(s, f"{container}@{blob}", ()) for s in ("wasbs", "wasb")]
    found += [_Prefix(s, blob, (container,)) for s in ("https", "http")]
    return found


def _netloc(scheme: str, netloc: str, uri: str, field: str) -> str | None:
    """The comparable netloc: host lowercased, ``localhost`` dropped for file URIs; None if unusable."""
    userinfo, at, host = netloc.rpartition("@")
    if at and (scheme not in _CONTAINER_AT_HOST or ":" in userinfo):
        raise InvalidInputError(
            f"{_shown(uri, redact=True)} carries credentials or a user name; give credentials to the "
            "datastore instead and write the URI without them",
            field=field,
        )
    host = host.lower()
    if scheme == "file":
        return "" if host in ("", "localhost") else None
    if not host:
        return None
    return f"{userinfo}@{host}" if at else host


def _segments(raw: str, field: str) -> tuple[list[str], bool]:
    is_folder = raw == "" or raw.endswith("/")
    body = raw[:-1] if raw.endswith("/") else raw
    if not body:
        return [], True
    return [_segment(s, raw, field) for s in body.split("/")], is_folder


def _segment(segment: str, raw: str, field: str) -> str:
    try:
        key = canonicalize(segment)
    except UnsafePathError as exc:
        raise InvalidInputError(f"unsafe path {_shown(raw)}: {exc.reason}", field=field) from None
    decoded = _decoded(segment)
    if "/" in decoded:
        raise InvalidInputError(f"unsafe path {_shown(raw)}: contains an encoded '/' (%2F)", field=field)
    if not key:
        raise InvalidInputError(
            f"path {_shown(raw)} has an empty or '.' segment; write each folder once, e.g. a/b", field=field
        )
    return key


def _decoded(text: str) -> str:
    """Percent-decoding and NFC to the fixed point (``canonicalize`` has already vetted ``text``)."""
    for _ in range(MAX_DECODE_ROUNDS + 1):
        decoded = unicodedata.normalize("NFC", unquote(text, errors="strict"))
        if decoded == text:
            break
        text = decoded
    return text


def _joined(segments: list[str], raw: str, field: str) -> str:
    try:
        return canonicalize("/".join(segments))  # the whole-path limits (length) hold too
    except UnsafePathError as exc:
        raise InvalidInputError(f"unsafe path {_shown(raw)}: {exc.reason}", field=field) from None


def _check_name(name: str, field: str) -> str:
    if not _DATASTORE_NAME.fullmatch(name):
        raise InvalidInputError(
            f"datastore name {_shown(name)} is not valid: use letters, digits and underscores (up to 255, "
            "starting with a letter or digit)",
            field=field,
        )
    return name


def _refuse_query(uri: str, field: str) -> None:
    """Refuse queries, fragments, and what ``urlsplit`` would silently drop (tabs, line breaks and
    surrounding whitespace), so the URI matched is the URI written."""
    if "?" in uri or "#" in uri:
        raise InvalidInputError(
            f"{_shown(uri, redact=True)} has a query string or fragment; datastore URIs take neither (a SAS "
            "token would be stored in plain text: give it to the datastore's credentials instead)",
            field=field,
        )
    if uri != uri.strip() or any(unicodedata.category(c) == "Cc" for c in uri):
        raise InvalidInputError(
            f"{_shown(uri)} has surrounding whitespace or control characters; write the URI alone",
            field=field,
        )


def _shown(text: str, *, redact: bool = False, limit: int = 200) -> str:
    if redact:
        # Whatever follows '?' or '#' (a SAS token) and userinfo ("key:secret@") never reach a message.
        text = re.sub(r"[?#].*", "?…", text, flags=re.DOTALL)
        text = re.sub(r"(://)[^/@]*@", r"\1…@", text)
    text = repr(text)
    return text if len(text) <= limit else text[:limit] + "...(truncated)"
