"""Errors of environment builds."""

from __future__ import annotations

from pathlib import Path

from stratus.errors import InvalidInputError


class EnvironmentBuildError(InvalidInputError):
    """A build that ran and failed (unresolvable requirements, a failing install, a failing image build).

    An input error: what uv rejects is almost always the spec. The message names the failing step and
    ends with uv's own error lines (secret values masked); ``log_path`` holds the whole output.
    """

    code = "ENVIRONMENT_BUILD_FAILED"

    def __init__(
        self,
        message: str,
        *,
        spec_hash: str | None = None,
        log_path: Path | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.spec_hash = spec_hash
        self.log_path = log_path
