"""Build plans: the three spec forms normalised to one plan, and a hash that ignores spelling."""

from __future__ import annotations

from pathlib import Path

import pytest

from stratus.environments import plan_from_conda, plan_from_mlflow_model, plan_from_pip
from stratus.environments.conda import parse_conda_dependency, python_minor
from stratus.errors import InvalidInputError


@pytest.mark.parametrize(
    ("dependency", "expected"),
    [
        ("numpy", ("numpy", "")),
        ("numpy=1.26", ("numpy", "==1.26.*")),
        ("numpy==1.26", ("numpy", "==1.26")),
        ("numpy>=1.2,<2", ("numpy", ">=1.2,<2")),
        ("numpy >=1.2, <2", ("numpy", ">=1.2,<2")),
        ("numpy 1.26.*", ("numpy", "==1.26.*")),
        ("numpy 1.26*", ("numpy", "==1.26.*")),
        ("numpy=1.26.4=py311h64a7726_0", ("numpy", "==1.26.4")),
        ("numpy 1.26.4 py311h64a7726_0", ("numpy", "==1.26.4")),
        ("numpy==1.26.4=py311h64a7726_0", ("numpy", "==1.26.4")),
        ("conda-forge::numpy=1.26", ("numpy", "==1.26.*")),
        ("numpy[version='>=1.2,<2']", ("numpy", ">=1.2,<2")),
        ("numpy!=1.3*", ("numpy", "!=1.3.*")),
        ("pandas~=1.5.3", ("pandas", "~=1.5.3")),
        ("Python=3.11", ("python", "==3.11.*")),
    ],
)
def test_conda_version_specs_become_pep440(dependency: str, expected: tuple[str, str]) -> None:
    assert parse_conda_dependency(dependency, origin="conda.yml") == expected


def test_conda_or_spec_is_refused_naming_it() -> None:
    with pytest.raises(InvalidInputError, match=r"numpy 1\.25\|1\.26") as caught:
        parse_conda_dependency("numpy 1.25|1.26", origin="conda.yml")
    assert caught.value.field == "conda_file"


@pytest.mark.parametrize(
    ("specifier", "minor"),
    [
        (None, "3.11"),
        ("==3.10.*", "3.10"),
        ("==3.8.10", "3.8"),
        (">=3.8", "3.11"),
        (">=3.8,<3.11", "3.10"),
        ("<3.10", "3.9"),
        ("~=3.12.1", "3.12"),
        ("==3.*", "3.11"),
    ],
)
def test_python_version_from_conda_spec(specifier: str | None, minor: str) -> None:
    assert python_minor(specifier, origin="conda.yml") == minor


def test_conda_file_maps_conda_names_and_keeps_pip_section() -> None:
    plan = plan_from_conda(
        {
            "name": "train",
            "channels": ["conda-forge", "pytorch"],
            "dependencies": [
                "python=3.10",
                "pip=23.3",
                "_libgcc_mutex=0.1=conda_forge",
                "libgcc-ng",
                "mkl",
                "pytorch::pytorch=2.1",
                "py-xgboost>=1.7",
                "msgpack-python",
                "matplotlib-base 3.8.*",
                "scikit-learn=1.3.2=py310h1fdf081_1",
                "python-dateutil",
                {"pip": ["Azure_Storage_Blob >= 12 , < 13", "requests[Socks, security]"]},
            ],
        },
        origin="env/conda.yml",
    )
    assert plan.python == "3.10"
    assert plan.requirements == (
        "azure-storage-blob<13,>=12",
        "matplotlib==3.8.*",
        "mlflow-skinny",
        "msgpack",
        "python-dateutil",
        "requests[security,socks]",
        "scikit-learn==1.3.2",
        "torch==2.1.*",
        "xgboost>=1.7",
    )
    assert plan.dropped == ("_libgcc_mutex", "libgcc-ng", "mkl", "pip")
    assert plan.origin == "env/conda.yml"


def test_conda_packages_without_pypi_equivalent_fail_naming_them() -> None:
    conda = {
        "dependencies": ["python=3.11", "cudatoolkit=11.8", "numpy", "cuda-nvcc", "nodejs", {"pip": ["x"]}]
    }
    with pytest.raises(InvalidInputError) as caught:
        plan_from_conda(conda, origin="env/conda.yml")
    assert caught.value.field == "conda_file"
    assert "env/conda.yml" in caught.value.message
    assert "cuda-nvcc, cudatoolkit, nodejs" in caught.value.message
    assert "numpy" not in caught.value.message.split(":")[2]


@pytest.mark.parametrize(
    "conda",
    [
        {"dependencies": "numpy"},
        {"dependencies": [3.11]},
        {"dependencies": [{"npm": ["left-pad"]}]},
        {"dependencies": [{"pip": "numpy"}]},
    ],
)
def test_malformed_conda_files_name_the_field(conda: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError) as caught:
        plan_from_conda(conda, origin="conda.yml")
    assert caught.value.field == "conda_file"


def test_pip_plan_collects_index_options_and_keeps_secret_placeholders() -> None:
    plan = plan_from_pip(
        "3.12.1",
        [
            "# training deps",
            "--index-url https://mirror.example.com/simple",
            "--extra-index-url=https://token:${{ secrets.FEED_TOKEN }}@feed.example.com/simple",
            "-i https://mirror.example.com/simple",
            "numpy>=1.26  # inline comment",
            "pandas \\",
            "  ==2.2.*",
        ],
    )
    assert plan.python == "3.12"
    assert plan.index_url == "https://mirror.example.com/simple"
    assert plan.extra_index_urls == ("https://token:${{secrets.FEED_TOKEN}}@feed.example.com/simple",)
    assert plan.secret_names() == ("FEED_TOKEN",)
    assert plan.requirements == ("mlflow-skinny", "numpy>=1.26", "pandas==2.2.*")


@pytest.mark.parametrize(
    ("line", "option"),
    [
        ("-r other.txt", "-r"),
        ("--find-links=/opt/wheels", "--find-links"),
        ("-e .", "-e"),
        ("--pre", "--pre"),
        ("numpy==1.26.4 --hash=sha256:abc", "--hash"),
    ],
)
def test_other_pip_options_are_refused_naming_them(line: str, option: str) -> None:
    with pytest.raises(InvalidInputError, match=f"'{option}'") as caught:
        plan_from_pip(None, [line])
    assert caught.value.field == "requirements"


@pytest.mark.parametrize(
    "line",
    [
        "./dist/pkg.whl",
        "pkg @ file:///etc/passwd",
        "numpy>=>1",
        "--index-url ftp://mirror/simple",
        "numpy 1.2",
    ],
)
def test_invalid_requirement_lines_are_refused(line: str) -> None:
    with pytest.raises(InvalidInputError):
        plan_from_pip(None, [line])


def test_mlflow_skinny_added_unless_mlflow_is_required() -> None:
    assert "mlflow-skinny" in plan_from_pip(None, ["numpy"]).requirements
    assert plan_from_pip(None, ["MLflow==2.9.2"]).requirements == ("mlflow==2.9.2",)
    assert plan_from_pip(None, ["mlflow_skinny[databricks]>=3"]).requirements == (
        "mlflow-skinny[databricks]>=3",
    )
    assert plan_from_pip(None, []).python == "3.11"


def test_spec_hash_ignores_order_spacing_and_name_spelling() -> None:
    first = plan_from_pip(
        "3.11", ["numpy >= 1.2, < 2", "Scikit_Learn==1.5.*", "--extra-index-url https://a/simple"]
    )
    second = plan_from_pip(
        "3.11.7",
        ["--extra-index-url  https://a/simple", "scikit-learn ==1.5.*", "numpy<2,>=1.2", "numpy<2,>=1.2"],
    )
    third = plan_from_conda(
        {
            "dependencies": [
                "python=3.11",
                "scikit-learn=1.5",
                {"pip": ["numpy<2,>=1.2", "-i https://pypi.org/simple"]},
            ]
        },
        origin="conda.yml",
    )
    assert first.spec_hash == second.spec_hash
    assert len(first.spec_hash) == 64
    assert (
        plan_from_pip("3.12", first.requirements).spec_hash
        != plan_from_pip("3.11", first.requirements).spec_hash
    )
    assert third.spec_hash != first.spec_hash  # an index URL is part of the spec


def test_plan_round_trips_through_a_dict() -> None:
    plan = plan_from_conda({"dependencies": ["python=3.10", "pip", "numpy=1.26"]}, origin="c.yml")
    again = type(plan).from_dict(plan.to_dict())
    assert again == plan
    assert again.spec_hash == plan.spec_hash
    assert again.dropped == ("pip",)


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_mlflow_model_prefers_requirements_txt_with_python_from_python_env(tmp_path: Path) -> None:
    model = _write(
        tmp_path / "model",
        {
            "MLmodel": "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n",
            "python_env.yaml": (
                "python: 3.10\nbuild_dependencies:\n- pip==23.0\ndependencies:\n- -r requirements.txt\n"
            ),
            "requirements.txt": (
                "mlflow==2.9.2\ncloudpickle==2.2.1\nscikit-learn==1.3.2\n-c constraints.txt\n"
            ),
            "constraints.txt": "numpy<2\n",
            "conda.yaml": "dependencies:\n- python=3.8.10\n- pip:\n  - mlflow==2.9.2\n",
        },
    )
    plan = plan_from_mlflow_model(model)
    assert plan.python == "3.10"  # read as text: YAML would make 3.10 the float 3.1
    assert plan.requirements == ("cloudpickle==2.2.1", "mlflow==2.9.2", "scikit-learn==1.3.2")
    assert plan.constraints == ("numpy<2",)


def test_mlflow_model_with_conda_yaml_only(tmp_path: Path) -> None:
    model = _write(
        tmp_path / "old-model",
        {
            "MLmodel": "flavors: {}\n",
            "conda.yaml": (
                "channels:\n- conda-forge\ndependencies:\n- python=3.8.10\n- pip<=22.2.2\n"
                "- pip:\n  - mlflow<3,>=2.1\n  - cloudpickle==2.2.0\nname: mlflow-env\n"
            ),
        },
    )
    plan = plan_from_mlflow_model(model)
    assert plan.python == "3.8"
    assert plan.requirements == ("cloudpickle==2.2.0", "mlflow<3,>=2.1")
    assert plan.dropped == ("pip",)


def test_mlflow_model_include_outside_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("numpy\n")
    model = _write(tmp_path / "model", {"requirements.txt": "-r ../secret.txt\n"})
    with pytest.raises(InvalidInputError, match="outside the model folder") as caught:
        plan_from_mlflow_model(model)
    assert caught.value.field == "model"


def test_folder_without_requirements_is_not_an_mlflow_model(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="not an MLflow model folder"):
        plan_from_mlflow_model(_write(tmp_path / "empty", {}))
