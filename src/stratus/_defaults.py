"""Defaults the server and its clients share, in a module the CLI and SDK can import without the
server's settings (pydantic-settings)."""

DEFAULT_PORT = 8765
