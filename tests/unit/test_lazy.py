"""The packages whose public names are imported on first use: every name resolves to its module's object,
and importing the package alone imports none of them."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from types import ModuleType

import pytest

import stratus
import stratus.entities


@pytest.mark.parametrize("package", [stratus, stratus.entities], ids=lambda p: p.__name__)
def test_every_public_name_resolves_to_the_object_of_its_module(package: ModuleType) -> None:
    for name in package.__all__:
        value = getattr(package, name)
        if name != "__version__":
            home = importlib.import_module(value.__module__)
            assert getattr(home, name) is value, name
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        package.Nope  # noqa: B018


def test_from_import_works_as_before() -> None:
    from stratus import MLClient, Workspace, load_model
    from stratus.client import MLClient as Client
    from stratus.entities import Workspace as Entity
    from stratus.specs import load_model as loader

    assert (MLClient, Workspace, load_model) == (Client, Entity, loader)


def test_importing_the_packages_imports_none_of_their_names() -> None:
    code = "import sys, json, stratus, stratus.entities; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout))
    assert {"stratus", "stratus.entities"} <= loaded
    assert not loaded & {"pydantic", "httpx", "stratus.client", "stratus.specs", "stratus.entities.assets"}


def test_launch_time_secret_resolution_loads_neither_httpx_nor_the_sdk() -> None:
    # What a job's launcher imports to resolve ${{secrets.NAME}}: no server to talk to, so no client.
    code = "import sys, json, stratus.secrets.launch; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert not set(json.loads(done.stdout)) & {"httpx", "stratus.client", "rich", "typer"}
