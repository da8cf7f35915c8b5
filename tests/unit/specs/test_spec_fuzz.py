"""Any YAML a user hands the spec loaders or the MLTable parser gets a value or an input error that names
the problem (``InvalidInputError``), never another exception: hostile shapes, deep nesting, aliases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stratus.data.mltable import MLTable
from stratus.errors import InvalidInputError
from stratus.specs import load_data, load_datastore, load_environment, load_model

SPEC_KEYS = [
    "$schema", "name", "version", "type", "path", "description", "tags", "image", "conda_file", "build",
    "python", "pip", "inference_config", "os_type", "account_name", "container_name", "credentials",
    "endpoint", "protocol", "bucket", "paths", "transformations", "traits", "metadata", "read_delimited",
    "file", "folder", "pattern", "delimiter", "header", "take", "skip", "columns", "column_type",
    "properties", "stage", "flavors", "datastore",
]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(
        ["uri_file", "uri_folder", "mltable", "azure_blob", "s3", "local", "../x", "azureml:x@latest"]
    )
)
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(SPEC_KEYS), children, max_size=5)
    ),
    max_leaves=25,
)
DOCUMENTS = st.dictionaries(st.sampled_from(SPEC_KEYS), VALUES, max_size=8)
LOADERS = [load_data, load_datastore, load_environment, load_model]


def _loads_or_names_the_problem(load: Any) -> None:
    """``load()`` returns, or raises an input error with a message and the field at fault."""
    try:
        load()
    except InvalidInputError as exc:
        error = exc
    else:
        return
    assert error.message and error.field, error


def _hostile_texts() -> list[str]:
    laughs = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    laughs += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}" if i > 1 else "*a"] * 9) + "]" for i in range(1, 9)]
    return [
        "\n".join(laughs),
        "name: &n [*n]",
        "name: x\ntags: " + "[" * 5000 + "]" * 5000,
        "name: x\ntags: " + "{a: " * 3000 + "1" + "}" * 3000,
        "- just\n- a list",
        "just a string",
        "name: x\n\tbad: tab",
        "%YAML 9.9\n---\nname: x",
        "name: !!python/object/apply:os.system ['echo pwned']",
        "name: x\n---\nname: y",
        "\ufeffname: x\ntype: uri_file\npath: azureml://datastores/d/paths/p",
        "",
    ]


@pytest.mark.parametrize("text", _hostile_texts())
@pytest.mark.parametrize("loader", LOADERS)
def test_hostile_spec_files_are_input_errors(tmp_path: Path, text: str, loader: Any) -> None:
    path = tmp_path / "spec.yml"
    path.write_text(text, encoding="utf-8")
    _loads_or_names_the_problem(lambda: loader(path))


@given(st.sampled_from(LOADERS), DOCUMENTS)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_fuzzed_spec_documents_load_or_are_input_errors(
    tmp_path_factory: pytest.TempPathFactory, loader: Any, document: dict[str, Any]
) -> None:
    path = tmp_path_factory.mktemp("spec") / "spec.yml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    _loads_or_names_the_problem(lambda: loader(path))


MLTABLE_DOCS = st.fixed_dictionaries(
    {},
    optional={
        "paths": st.lists(
            st.dictionaries(st.sampled_from(["file", "folder", "pattern", "x"]), VALUES, max_size=2),
            max_size=3,
        )
        | VALUES,
        "transformations": st.lists(
            st.dictionaries(
                st.sampled_from(
                    [
                        "read_delimited",
                        "read_parquet",
                        "read_json_lines",
                        "take",
                        "skip",
                        "drop_columns",
                        "keep_columns",
                        "convert_column_types",
                        "take_random_sample",
                        "extract_columns_from_partition_format",
                        "bogus",
                    ]
                ),
                VALUES,
                max_size=2,
            ),
            max_size=4,
        )
        | VALUES,
        "traits": VALUES,
        "metadata": VALUES,
        "type": st.sampled_from(["mltable", "other"]),
        "$schema": st.text(max_size=30),
    },
)


@given(MLTABLE_DOCS)
@settings(max_examples=150, deadline=None, database=None)
def test_fuzzed_mltable_files_parse_or_are_input_errors(document: dict[str, Any]) -> None:
    _loads_or_names_the_problem(
        lambda: MLTable.parse(yaml.safe_dump(document, allow_unicode=True), origin="fuzz")
    )


@pytest.mark.parametrize("text", _hostile_texts())
def test_hostile_mltable_files_are_input_errors(text: str) -> None:
    with pytest.raises(InvalidInputError):
        MLTable.parse(text, origin="hostile")
