"""Conformance kits: one behavioural suite that every implementation of an interface must pass."""

from stratus.testing.artifact_store import ARTIFACT_STORE_CHECKS, check_artifact_store

__all__ = ["ARTIFACT_STORE_CHECKS", "check_artifact_store"]
