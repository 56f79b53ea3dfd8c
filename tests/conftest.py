"""Fixtures shared by the tests: the read-only ../shared folder (tiny nets,
goldens, reference data), skipped with a reason where it is absent."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DIR", REPO.parent / "shared"))


def shared_path(*parts):
    """A path under ../shared, or a skip saying it is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: these tests need the project's ../shared folder (or SHARED_DIR)")
    return path


@pytest.fixture
def tiny():
    """Paths of the tiny nets: tiny['classifier'] -> (prototxt, caffemodel), ..."""
    folder = shared_path("fixtures", "tiny")
    return {
        "classifier": (str(folder / "classifier.prototxt"), str(folder / "classifier.caffemodel")),
        "generator": (str(folder / "generator.prototxt"), str(folder / "generator.caffemodel")),
        "fc6_bound": str(folder / "fc6_bound.txt"),
    }


def load_golden(name):
    """A golden .npz as a dict, its `args` JSON parsed."""
    with np.load(shared_path("fixtures", "golden", name), allow_pickle=False) as data:
        golden = {key: data[key] for key in data.files}
    golden["args"] = json.loads(str(golden["args"]))
    return golden


@pytest.fixture
def pinned_environment():
    """Skip unless OpenBLAS is pinned as the goldens were made (make test sets it)."""
    wanted = {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_NUM_THREADS": "1"}
    wrong = {k: os.environ.get(k) for k, v in wanted.items() if os.environ.get(k) != v}
    if wrong:
        pytest.skip(f"golden comparisons need OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS=1 (have {wrong}); run `make test`")
