"""Conda environment files (Azure ML's ``conda_file``) as build plans installed from PyPI wheels.

Stratus never runs conda: each conda package becomes its PyPI package. The rule for a conda name:

- ``python`` sets the interpreter (``python=3.11``, ``python==3.11.*``, ``python>=3.9``: the default 3.11
  when it satisfies the spec, else the newest minor that does);
- names in ``CONDA_TO_PYPI`` are renamed (``pytorch`` → ``torch``, ``py-xgboost`` → ``xgboost`` …);
- names in ``DROPPED`` are left out (recorded in ``plan.dropped``): packaging tools, the native libraries a
  CPython interpreter already links (openssl, zlib, sqlite …), compiler runtimes and BLAS/MKL, which
  manylinux wheels bundle themselves, and ``_``-prefixed mutex metapackages, which hold no files;
- names in ``NO_PYPI`` (CUDA toolkits, compilers, R, Node, system binaries …) and names matching
  ``NO_PYPI_PREFIXES`` fail the plan, naming them all: they cannot come from PyPI, and silently leaving
  them out would build an environment that breaks later (wheels such as ``torch`` bring their own CUDA);
- every other name is taken to be its PyPI name (true of almost every Python package on conda-forge).

Version specs become PEP 440: ``numpy=1.26`` → ``==1.26.*`` (conda's ``=`` is a prefix match),
``numpy==1.26`` → ``==1.26``, ``numpy 1.26.*`` → ``==1.26.*``, ``numpy>=1.2,<2`` unchanged,
``numpy=1.26.4=py311h…`` and ``numpy 1.26.4 py311h…`` → ``==1.26.4`` (build strings dropped),
``conda-forge::numpy`` → ``numpy``; ``|`` (or) has no PEP 440 form and is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from stratus.environments.plan import (
    DEFAULT_PYTHON,
    BuildPlan,
    RequirementLines,
    make_plan,
    normalize_requirement,
)
from stratus.errors import InvalidInputError

FIELD = "conda_file"

CONDA_TO_PYPI: dict[str, str] = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "pytorch-gpu": "torch",
    "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost",
    "py-xgboost-gpu": "xgboost",
    "msgpack-python": "msgpack",
    "matplotlib-base": "matplotlib",
    "numpy-base": "numpy",
    "tensorflow-base": "tensorflow",
    # tensorflow-gpu is an empty, yanked package on PyPI; Linux tensorflow wheels include GPU support.
    "tensorflow-gpu": "tensorflow",
    "py-opencv": "opencv-python",
    "opencv": "opencv-python",
    "pytables": "tables",
    "python-graphviz": "graphviz",
    "python-kaleido": "kaleido",
    "python-flatbuffers": "flatbuffers",
    "python-dateutil": "python-dateutil",
    "scikit-learn": "scikit-learn",
}

DROPPED: frozenset[str] = frozenset(
    {
        # packaging tools: uv installs without them
        "pip", "setuptools", "wheel", "conda", "conda-build", "mamba", "python_abi",
        # what CPython itself links against
        "ca-certificates", "openssl", "libffi", "zlib", "libzlib", "xz", "liblzma", "bzip2", "ncurses",
        "readline", "sqlite", "libsqlite", "tk", "tzdata", "libuuid", "libnsl", "libxcrypt", "libexpat",
        "expat", "libmpdec", "libedit", "ld_impl_linux-64",
        # compiler runtimes and BLAS: manylinux wheels bundle their own
        "libgcc-ng", "libgcc", "libgomp", "libstdcxx-ng", "libstdcxx", "libgfortran-ng", "libgfortran5",
        "libgfortran", "llvm-openmp", "intel-openmp", "mkl", "mkl-service", "mkl_fft", "mkl_random",
        "blas", "libblas", "libcblas", "liblapack", "liblapacke", "openblas", "libopenblas",
    }
)  # fmt: skip

NO_PYPI: frozenset[str] = frozenset(
    {
        "cudatoolkit", "cudnn", "nccl", "cupti", "magma", "nodejs", "gcc", "gxx", "gfortran",
        "gcc_linux-64", "gxx_linux-64", "make", "cmake-binary", "git", "curl", "libcurl", "boost",
        "arrow-cpp", "libarrow", "libxgboost", "liblightgbm", "libprotobuf", "hdf5", "ffmpeg", "graphviz",
        "openjdk", "jpeg", "libpng", "freetype", "qt", "r-base",
    }
)  # fmt: skip
NO_PYPI_PREFIXES: tuple[str, ...] = ("cuda-", "libcu", "libnv", "r-")

_CONDA_NAME = re.compile(r"^(?P<name>[A-Za-z0-9_][A-Za-z0-9._+-]*)(?P<rest>.*)$")
_CLAUSE = re.compile(r"^(?P<op>===|==|!=|~=|<=|>=|<|>|=)?(?P<version>[^<>=!~]+)$")
_BUILD_SUFFIX = re.compile(r"(?<=[A-Za-z0-9*])=[^,|=]*$")
_BRACKET_ITEM = re.compile(r"(\w+)\s*=\s*(?:'([^']*)'|\"([^\"]*)\"|([^,\]]*))")
# Interpreter minors a range may settle on: the default, else the newest released one that fits.
_NEWEST_PYTHON_MINOR = 14
_PYTHON_MINORS = [
    DEFAULT_PYTHON,
    *(f"3.{n}" for n in range(_NEWEST_PYTHON_MINOR, 5, -1) if f"3.{n}" != DEFAULT_PYTHON),
]


def plan_from_conda(conda: Mapping[str, Any], *, origin: str) -> BuildPlan:
    """A plan from a conda environment mapping (``dependencies`` with a ``pip:`` sub-list; ``channels``,
    ``name`` and ``variables`` play no part). ``origin`` prefixes error messages (e.g. the file name)."""
    if not isinstance(conda, Mapping):
        raise InvalidInputError(f"{origin}: a conda file must be a mapping with 'dependencies'", field=FIELD)
    dependencies = conda.get("dependencies") or []
    if not isinstance(dependencies, Sequence) or isinstance(dependencies, str):
        raise InvalidInputError(f"{origin}: 'dependencies' must be a list", field=FIELD)
    lines = RequirementLines(field=FIELD, origin=origin)
    python_spec: str | None = None
    dropped: list[str] = []
    unsupported: list[str] = []
    for dependency in dependencies:
        if isinstance(dependency, Mapping):
            _add_pip_section(lines, dependency, origin)
            continue
        if not isinstance(dependency, str):
            raise InvalidInputError(
                f"{origin}: dependency {dependency!r} must be a string like 'numpy=1.26' or a 'pip:' list",
                field=FIELD,
            )
        name, specifier = parse_conda_dependency(dependency, origin=origin)
        if name == "python":
            python_spec = specifier
        elif name in DROPPED or name.startswith("_"):
            dropped.append(name)
        elif name in NO_PYPI or name.startswith(NO_PYPI_PREFIXES):
            unsupported.append(name)
        else:
            pypi = CONDA_TO_PYPI.get(name, name)
            lines.requirements.append(normalize_requirement(pypi + specifier, field=FIELD, origin=origin))
    if unsupported:
        names = ", ".join(sorted(set(unsupported)))
        raise InvalidInputError(
            f"{origin}: conda packages with no PyPI equivalent: {names}. Stratus installs PyPI wheels, "
            "which bring their own native libraries (torch its CUDA); remove these from the conda file, "
            "or use a Docker build context environment",
            field=FIELD,
        )
    return make_plan(python_minor(python_spec, origin=origin), lines, origin=origin, dropped=dropped)


def parse_conda_dependency(dependency: str, *, origin: str) -> tuple[str, str]:
    """``(lower-case conda name, PEP 440 specifier)`` for one conda dependency string."""
    text = dependency.strip()
    if "::" in text:  # channel prefix: conda-forge::numpy
        text = text.split("::", 1)[1].strip()
    match = _CONDA_NAME.match(text)
    if not match:
        raise InvalidInputError(f"{origin}: {dependency!r} is not a conda package spec", field=FIELD)
    name, rest = match.group("name").lower(), match.group("rest").strip()
    if rest.startswith("["):
        version = ""
        for key, *values in _BRACKET_ITEM.findall(rest.strip("[]")):
            if key == "version":
                version = "".join(values)
        return name, _to_pep440(version, dependency, origin)
    if not rest:
        return name, ""
    if rest.startswith("=") and not rest.startswith("=="):
        version, _, build = rest[1:].partition("=")
        # conda's ``=1.26`` matches 1.26.x; with a build string the version is exact.
        return name, _to_pep440(version, dependency, origin, fuzzy=not build)
    if rest[0] in "<>!~=":
        return name, _to_pep440(_BUILD_SUFFIX.sub("", rest), dependency, origin)
    tokens = rest.split()
    if len(tokens) == 2 and not re.match(r"^[<>=!~,|]", tokens[1]) and not tokens[0].endswith(","):
        tokens = tokens[:1]  # "numpy 1.26.4 py311h64a7726_0": the second word is a build string
    return name, _to_pep440("".join(tokens), dependency, origin)


def python_minor(specifier: str | None, *, origin: str) -> str:
    """The interpreter minor for a ``python`` dependency's PEP 440 specifier (from a conda file)."""
    if not specifier:
        return DEFAULT_PYTHON
    clauses = specifier.split(",")
    for minor in _PYTHON_MINORS:
        if all(_minor_satisfies(minor, clause) for clause in clauses):
            return minor
    raise InvalidInputError(
        f"{origin}: python{specifier} matches no Python version; pin one, e.g. 'python=3.11'", field=FIELD
    )


def _add_pip_section(lines: RequirementLines, section: Mapping[str, Any], origin: str) -> None:
    for key, value in section.items():
        if key != "pip":
            raise InvalidInputError(
                f"{origin}: dependency section {key!r} is not supported; only 'pip:' may hold a list",
                field=FIELD,
            )
        if (
            not isinstance(value, Sequence)
            or isinstance(value, str)
            or not all(isinstance(v, str) for v in value)
        ):
            raise InvalidInputError(f"{origin}: 'pip:' must be a list of requirement strings", field=FIELD)
        lines.add(value)


def _to_pep440(version: str, dependency: str, origin: str, *, fuzzy: bool = False) -> str:
    spec = re.sub(r"\s+", "", version)
    if not spec:
        return ""
    if "|" in spec:
        raise InvalidInputError(
            f"{origin}: {dependency!r}: conda's '|' (either version) has no pip form; give one range",
            field=FIELD,
        )
    clauses = []
    for clause in spec.split(","):
        match = _CLAUSE.match(clause)
        if not match:
            raise InvalidInputError(
                f"{origin}: {dependency!r} has an invalid version {clause!r}", field=FIELD
            )
        op, number = match.group("op"), match.group("version")
        prefix = number.endswith("*")
        number = number.rstrip("*").rstrip(".")
        if op in (None, "="):
            # bare versions are exact in a conda spec, '=' and a trailing '*' are prefix matches
            clauses.append(f"=={number}.*" if prefix or fuzzy or op == "=" else f"=={number}")
        elif op in ("==", "!="):
            clauses.append(f"{op}{number}.*" if prefix else f"{op}{number}")
        else:
            clauses.append(f"{op}{number}")
    return ",".join(clauses)


def _minor_satisfies(minor: str, clause: str) -> bool:
    """Whether some release of ``minor`` (e.g. 3.11.x) satisfies one PEP 440 clause."""
    match = re.match(r"^(===|==|!=|~=|<=|>=|<|>)(\d+)(?:\.(\d+|\*))?(?:\.(\d+|\*))?", clause)
    if not match:
        return False
    op, major, second, third = match.groups()
    candidate = tuple(int(p) for p in minor.split("."))
    wanted = (int(major), int(second) if second and second != "*" else 0)
    exact_minor = second is not None and second != "*"
    patch = int(third) if third and third != "*" else 0
    if op in ("==", "==="):
        return candidate == wanted if exact_minor else candidate[0] == wanted[0]
    if op == "!=":
        if not exact_minor:
            return candidate[0] != wanted[0] if second == "*" else True
        return candidate != wanted if third == "*" else True  # only "!=3.11.*" rules a minor out
    if op == "~=":
        return candidate == wanted if third is not None else candidate >= wanted and candidate[0] == wanted[0]
    if op == ">=":
        return candidate >= wanted
    if op == ">":
        return candidate >= wanted if patch or third is not None else candidate > wanted
    if op == "<=":
        return candidate <= wanted
    return candidate <= wanted if patch else candidate < wanted  # "<"
