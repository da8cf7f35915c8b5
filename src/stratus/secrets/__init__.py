"""The key vault: the server's master key, per-workspace data keys, encrypted secrets, launch-time
resolution of ``${{secrets.NAME}}`` and redaction of values from logs."""

from stratus.secrets.launch import resolve_for_launch, secret_references
from stratus.secrets.redact import REDACTOR, RedactingFilter
from stratus.secrets.vault import KeyVault, VaultError

__all__ = ["REDACTOR", "KeyVault", "RedactingFilter", "VaultError", "resolve_for_launch", "secret_references"]
