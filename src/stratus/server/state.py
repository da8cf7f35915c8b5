"""Start-up: open the stores, migrate, create the admin token and master key on an empty store."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from stratus._files import write_private
from stratus.config import Settings
from stratus.environments import EnvironmentCache
from stratus.secrets import master_key
from stratus.secrets.vault import KeyVault
from stratus.server.origins import OriginPolicy
from stratus.server.services.artifacts import ArtifactService
from stratus.server.services.auth import AuthService, hash_token, new_token_secret
from stratus.server.services.data import DataAssetService
from stratus.server.services.datastores import DatastoreService
from stratus.server.services.environments import EnvironmentService
from stratus.server.services.experiments import ExperimentService
from stratus.server.services.gc import GarbageCollector
from stratus.server.services.jobs import JobService
from stratus.server.services.logged_models import LoggedModelService
from stratus.server.services.models import ModelAssetService
from stratus.server.services.registry import RegistryQueries, RegistryService
from stratus.server.services.runs import RunService
from stratus.server.services.secrets import SecretService
from stratus.server.services.users import UserService
from stratus.server.services.workspaces import WorkspaceService
from stratus.store.metadata import MetadataStore
from stratus.store.sql import SqlMetadataStore, make_engine, migration_lock, upgrade

if TYPE_CHECKING:
    from stratus.artifacts import ArtifactStore

log = logging.getLogger(__name__)
ADMIN_USER = "admin"


class StartupError(RuntimeError):
    """The server must not start; the message says what to fix."""


@dataclass
class ServerState:
    settings: Settings
    store: MetadataStore
    artifacts: ArtifactStore
    master_key: bytes
    # Set only on the start that created the store, so that start can print it once.
    new_admin_token: str | None = None
    auth: AuthService = field(init=False)
    users: UserService = field(init=False)
    workspaces: WorkspaceService = field(init=False)
    artifact_objects: ArtifactService = field(init=False)
    experiments: ExperimentService = field(init=False)
    runs: RunService = field(init=False)
    logged_models: LoggedModelService = field(init=False)
    registry: RegistryService = field(init=False)
    registry_queries: RegistryQueries = field(init=False)
    vault: KeyVault = field(init=False)
    secrets: SecretService = field(init=False)
    datastores: DatastoreService = field(init=False)
    data: DataAssetService = field(init=False)
    environments: EnvironmentService = field(init=False)
    origins: OriginPolicy = field(init=False)

    def __post_init__(self) -> None:
        self.auth = AuthService(self.store, cache_seconds=self.settings.auth_cache_seconds)
        self.origins = OriginPolicy.from_settings(self.settings)
        self.users = UserService(self.store, self.auth)
        self.workspaces = WorkspaceService(self.store, self.artifacts, self.auth)
        self.artifact_objects = ArtifactService(self.store, self.artifacts)
        self.experiments = self.workspaces.experiments
        self.runs = RunService(self.store, self.experiments)
        self.logged_models = LoggedModelService(self.store, self.experiments, self.runs)
        self.registry = RegistryService(self.store, self.runs, self.logged_models, self.artifact_objects)
        self.registry_queries = RegistryQueries(self.store, self.registry)
        self.jobs = JobService(self.experiments, self.runs)
        self.models = ModelAssetService(self.registry, self.registry_queries)
        self.gc = GarbageCollector(self.store, self.artifact_objects)
        self.vault = KeyVault(self.store, self.master_key)
        self.secrets = SecretService(self.store, self.vault)
        self.datastores = DatastoreService(
            self.store, self.vault, self.artifact_objects, self.auth, self.settings
        )
        self.data = DataAssetService(self.store, self.datastores)
        self.environments = EnvironmentService(
            self.store,
            self.vault,
            self.auth,
            EnvironmentCache(self.settings.resolved_env_cache, step_timeout=self.settings.env_build_timeout),
            self.datastores,
        )

    def close(self) -> None:
        self.runs.read_ahead.close()
        self.environments.close()
        self.store.close()


def prepare_home(settings: Settings) -> Path:
    home = settings.resolved_home
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    return home


def bootstrap(settings: Settings) -> ServerState:
    """Open everything the server needs; safe to run from several processes at once."""
    from stratus.artifacts import open_artifact_store

    prepare_home(settings)
    try:
        engine = make_engine(settings.resolved_database_url)
        artifacts = open_artifact_store(settings.resolved_artifact_uri)
    except (ValueError, ImportError) as exc:  # unsupported URL, missing extra: the message says which
        raise StartupError(str(exc)) from exc
    store = SqlMetadataStore(engine)
    try:
        with _database_errors(engine), migration_lock(engine):
            upgrade(engine)
            if store.is_empty():
                key, token = _initialise(settings, store)
            else:
                key, token = _load_key(settings, store), None
            state = ServerState(settings, store, artifacts, key, new_admin_token=token)
            state.workspaces.ensure_default()
    except BaseException:
        store.close()
        raise
    return state


@contextlib.contextmanager
def _database_errors(engine: Engine) -> Iterator[None]:
    """An unreachable database is a start-up error naming the database, not a traceback."""
    try:
        yield
    except OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else exc.__class__.__name__
        raise StartupError(f"cannot use the metadata database {where}: {reason}") from exc


def _initialise(settings: Settings, store: MetadataStore) -> tuple[bytes, str]:
    """First start on an empty store: master key, admin user and token, then the ``initialised`` mark.

    Each step may be repeated: a start that died half-way is finished by the next one, which writes a new
    admin token. Files come before rows, and the mark comes last, so no crash leaves a stored hash whose
    token nobody holds, nor a non-empty store without an admin token.
    """
    key = _read_key(settings)
    if key is None:
        text = master_key.generate()
        write_private(settings.master_key_path, text + "\n")
        key = master_key.decode(text, source=str(settings.master_key_path))
    store.settings.set(master_key.CHECK_SETTING, master_key.check_value(key))
    secret = new_token_secret()
    write_private(settings.admin_token_path, secret + "\n")
    admin = store.users.get(ADMIN_USER) or store.users.create(
        ADMIN_USER, display_name="Server admin", is_server_admin=True
    )
    token = store.tokens.create(user_id=admin.id, token_hash=hash_token(secret), name="server admin")
    store.audit.append("token.create", actor=ADMIN_USER, target=token.id, detail={"user": ADMIN_USER})
    store.audit.append("server.initialise", actor=ADMIN_USER, detail={"home": str(settings.resolved_home)})
    store.mark_initialised()
    return key, secret


def _read_key(settings: Settings) -> bytes | None:
    try:
        return master_key.read(settings.master_key, settings.master_key_path)
    except master_key.MasterKeyError as exc:
        raise StartupError(str(exc)) from exc


def _load_key(settings: Settings, store: MetadataStore) -> bytes:
    key = _read_key(settings)
    if key is None:
        raise StartupError(
            f"refusing to start: the store is not empty but no master key is readable; "
            f"restore {settings.master_key_path} or set STRATUS_MASTER_KEY"
        )
    expected = store.settings.get(master_key.CHECK_SETTING)
    if expected is not None and expected != master_key.check_value(key):
        source = "STRATUS_MASTER_KEY" if settings.master_key else str(settings.master_key_path)
        raise StartupError(
            f"refusing to start: the master key from {source} is not the one this store was created with; "
            f"restore {settings.master_key_path} or set STRATUS_MASTER_KEY to the original key"
        )
    return key
