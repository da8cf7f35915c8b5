"""Registers the ``network`` marker for this folder's tests until ``[tool.pytest.ini_options].markers`` in
pyproject.toml lists it (``--strict-markers`` refuses unregistered ones); then this file can go."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "network: reaches the public package index (PyPI)")
