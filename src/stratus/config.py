"""Server settings: flags override ``STRATUS_*`` environment variables, which override defaults."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from stratus._defaults import DEFAULT_PORT

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def default_home() -> Path:
    return Path("~/.stratus").expanduser()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STRATUS_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    database_url: str | None = None
    artifact_uri: str | None = None
    # Comma-separated; the --host given to the server is always added.
    allowed_hosts: str = "127.0.0.1,localhost"
    # Comma-separated origins (``https://studio.example.com``) whose pages may send writes; the server's
    # own origin always may. Any other Origin on a POST/PUT/PATCH/DELETE gets 403.
    allowed_origins: str = ""
    master_key: str | None = None
    max_json_bytes: int = 1024 * 1024
    # How long token, user, workspace and role lookups are cached; changes made through another server
    # sharing the database take up to this long to apply here (0 turns the cache off).
    auth_cache_seconds: float = 2.0
    # Artifact uploads stream to the store and are not held to the JSON limit; None means no limit.
    max_upload_bytes: int | None = None
    # Folders under which Owners may create ``type: local`` datastores (os.pathsep-separated); none by
    # default, and never the server's home.
    local_datastore_roots: str = ""
    # The environment cache (the container-registry analogue): built virtualenvs keyed by spec hash.
    env_cache: Path | None = None
    # Each uv step of an environment build (resolve, create, install) is stopped after this many seconds.
    env_build_timeout: float = 3600.0

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.resolved_home / 'stratus.db'}"

    @property
    def resolved_artifact_uri(self) -> str:
        return self.artifact_uri or str(self.resolved_home / "workspaces")

    @property
    def admin_token_path(self) -> Path:
        return self.resolved_home / "admin-token"

    @property
    def master_key_path(self) -> Path:
        return self.resolved_home / "master.key"

    @property
    def local_datastore_root_paths(self) -> list[Path]:
        return [Path(p).expanduser() for p in self.local_datastore_roots.split(os.pathsep) if p.strip()]

    @property
    def resolved_env_cache(self) -> Path:
        return (self.env_cache or self.resolved_home / "envs").expanduser()

    @property
    def logs_dir(self) -> Path:
        return self.resolved_home / "logs"

    def allowed_origin_set(self) -> frozenset[str]:
        return frozenset(o.strip().rstrip("/").lower() for o in self.allowed_origins.split(",") if o.strip())

    def allowed_host_set(self) -> frozenset[str]:
        hosts = {h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip()}
        hosts.add(self.host.lower())
        if self.host == "::":  # bound everywhere: <home>/server.json announces the IPv6 loopback
            hosts.add("::1")
        return frozenset(hosts)
