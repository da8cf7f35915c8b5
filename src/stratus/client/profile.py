"""Where the SDK and CLI find the server and token: flags, then STRATUS_* variables, then the saved
profile (``stratus login``), then the server running from this machine's home (``<home>/server.json``,
any port) or the default local URL, with the home's admin-token file when it is readable."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stratus import local_server
from stratus._defaults import DEFAULT_PORT
from stratus._files import write_private

DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
PROFILE_FILE = "config.json"


def config_dir() -> Path:
    override = os.environ.get("STRATUS_CONFIG_DIR")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or "~/.config"
    return Path(base).expanduser() / "stratus"


def home_dir() -> Path:
    return Path(os.environ.get("STRATUS_HOME") or "~/.stratus").expanduser()


def load_profile() -> dict[str, Any]:
    path = config_dir() / PROFILE_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_profile(url: str | None, token: str, workspace: str | None) -> Path:
    """``url=None``: the login is for the server running here, found through ``<home>/server.json``
    each time (its port may change between starts)."""
    path = config_dir() / PROFILE_FILE
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    profile = {"url": url, "token": token, "workspace": workspace}
    write_private(path, json.dumps(profile, indent=2) + "\n")
    return path


def read_token_file(path: Path) -> str | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return text or None


@dataclass(frozen=True)
class Connection:
    url: str
    token: str | None
    workspace: str | None


def local_url() -> str:
    """The server running from this machine's home, else the default local URL."""
    return local_server.running_url(home_dir()) or DEFAULT_URL


def resolve(url: str | None = None, token: str | None = None, workspace: str | None = None) -> Connection:
    chosen_token = token or os.environ.get("STRATUS_TOKEN")
    url = url or os.environ.get("STRATUS_URL")
    if url and chosen_token and workspace:  # all given (the CLI's client, made once resolved): no file read
        return Connection(url.rstrip("/"), chosen_token, workspace)
    profile = load_profile()
    configured = url or profile.get("url")
    # The server of this machine's home: read from <home>/server.json only when it can matter.
    here = local_url() if not configured or not chosen_token else None
    chosen_url = str(configured or here).rstrip("/")
    # A saved token goes only to the server it was saved for (no URL saved: the server running here).
    if not chosen_token and profile.get("token") and chosen_url == (profile.get("url") or here):
        chosen_token = profile["token"]
    # The home's admin token goes only to the server of that home, never to a URL named elsewhere.
    if not chosen_token and chosen_url == here:
        chosen_token = read_token_file(home_dir() / "admin-token")
    return Connection(chosen_url, chosen_token, workspace or configured_workspace(profile))


def configured_workspace(profile: dict[str, Any] | None = None) -> str | None:
    """The workspace named by STRATUS_WORKSPACE, else by the login profile; None when neither does."""
    saved = (load_profile() if profile is None else profile).get("workspace")
    return os.environ.get("STRATUS_WORKSPACE") or (saved if isinstance(saved, str) and saved else None)
