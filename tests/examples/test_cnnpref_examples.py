"""The eight cnnpref example programs, end to end on the tiny nets (two
channels, two iterations each), and their set-up: pre-ReLU features, the
channels chosen, one-line errors."""
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io as sio
from PIL import Image

pytest.importorskip("caffe", reason="pycaffe is not importable: build Caffe first (make setup)")


@pytest.fixture
def examples(repo):
    """The cnnpref example programs' folder."""
    return repo / "examples" / "cnnpref"


@pytest.fixture
def tiny_env(tiny, shared_path, tmp_path):
    """Environment pointing the examples at the tiny nets, 2 channels x 2 iterations."""
    return {
        "NET_DEFINITION": tiny["classifier"][0], "NET_WEIGHTS": tiny["classifier"][1],
        "GENERATOR_DEFINITION": tiny["generator"][0], "GENERATOR_WEIGHTS": tiny["generator"][1],
        "BOUND_FILE": tiny["fc6_bound"],
        "MEAN_FILE_NPY": str(shared_path("reference", "cnnpref", "data", "ilsvrc_2012_mean.npy")),
        "N_ITERS": "2", "NUM_OF_IMG": "2", "RESULT_DIR": str(tmp_path / "result"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),  # the patched tiny prototxts go here
        "PREFINPUT_OFFLINE": "1", "GLOG_minloglevel": "2",
    }


def run_example(script, env):
    return subprocess.run([sys.executable, str(script)], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.repo_files("script", "examples/cnnpref/generate_preferred_image_*.py")  # parametrizes (conftest)
def test_example_runs_end_to_end_on_the_tiny_nets(script, tiny_env):
    done = run_example(script, tiny_env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.rstrip().endswith("Done!")
    (folder,) = Path(tiny_env["RESULT_DIR"]).iterdir()
    assert folder.name.startswith(script.stem + "_")
    layer, channels = ("fc8", (0, 5)) if "higher" in script.stem else ("conv1", (0, 4))
    kinds = ["preferred_img", "preferred_img_masked"] if "_dgn_" in script.stem else ["preferred_img"]
    for kind in kinds:
        for channel in channels:
            stem = folder / f"{kind}_layer_{layer}_channel_{channel}"
            assert sio.loadmat(f"{stem}.mat")["preferred_img"].shape == (27, 27, 3)
            assert Image.open(f"{stem}.jpg").size == (27, 27)
    for channel in channels:  # what regression.py reads beside each result: the picture, its unit, no published one
        manifest = json.loads((folder / f"preferred_img_layer_{layer}_channel_{channel}.json").read_text())
        assert manifest["panels"] == [{"file": f"preferred_img_layer_{layer}_channel_{channel}.jpg", "unit": channel}]
        assert manifest["published"] is None and manifest["panel_size"] == [27, 27]
    with open(folder / "options.pkl", "rb") as f:
        options = pickle.load(f)
    assert options.get("iter_n", options.get("maxiter")) == 2


@pytest.fixture
def common(monkeypatch, tiny_env, examples):
    for name, value in tiny_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.syspath_prepend(str(examples))
    import common
    return common


def test_examples_read_pre_relu_features(common):
    net, layer = common.load_cnn("lower")
    assert layer == "conv1" and net.blobs["data"].data.shape == (1, 3, 27, 27)
    net.blobs["data"].data[...] = np.random.RandomState(0).uniform(-100, 100, (1, 3, 27, 27))
    net.forward()
    assert net.blobs["conv1"].data.min() < 0  # the ReLU writes its own blob now


def test_examples_spread_the_channels_evenly(common, monkeypatch):
    net, layer = common.load_cnn("higher")
    assert list(common.channel_list(net, layer)) == [0, 5]
    monkeypatch.setenv("NUM_OF_IMG", "25")  # more than fc8's 10 units: every one
    assert list(common.channel_list(net, layer)) == list(range(10))


@pytest.mark.parametrize("setting, value, message", [
    ("NET", "resnet", "NET=resnet is not one of alexnet, vgg19"),
    ("LAYER", "conv9", "LAYER=conv9: the net has no blob or layer of this name; closest: conv5, conv4, conv3"),
    ("BOUND_FILE", "/nonexistent/fc6.txt", "/nonexistent/fc6.txt not found"),
])
def test_example_mistakes_are_one_line_errors(tiny_env, examples, setting, value, message):
    env = dict(tiny_env, **{setting: value})
    if setting == "NET":
        del env["NET_DEFINITION"], env["NET_WEIGHTS"]
    done = run_example(examples / "generate_preferred_image_dgn_gd__for_higher_layer.py", env)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_an_objective_is_the_mask_and_weights_of_its_units(common):
    from prefinput.objectives import parse
    net, _ = common.load_cnn("higher")
    layer, mask, weights = common.objective_target(net, parse("fc8:5"))
    assert layer == "fc8" and np.array_equal(mask, common.channel_mask(net, "fc8", 5)) and weights[5] == 1
    layer, mask, weights = common.objective_target(net, parse("conv5:2@3,3 - 0.5*conv5:7"))
    assert np.array_equal(mask[2], common.centre_unit_mask(net, "conv5", 2)[2])
    assert weights[2, 3, 3] == 1 and np.allclose(weights[7], -0.5 / 36) and mask.sum() == 1 + 36


@pytest.mark.parametrize("script", ["generate_preferred_image_gd__for_higher_layer.py",
                                    "generate_preferred_image_dgn_lbfgs__for_lower_layer.py"])
def test_an_objective_makes_one_image_named_after_it(tiny_env, examples, script):
    done = run_example(examples / script, dict(tiny_env, OBJECTIVE="fc8:1 + 2*fc8:7"))
    assert done.returncode == 0, done.stderr[-2000:]
    (folder,) = Path(tiny_env["RESULT_DIR"]).iterdir()
    names = sorted(name.name for name in folder.glob("preferred_img*.jpg"))
    stem = "_layer_fc8_channel_fc8_0001+2xfc8_0007.jpg"
    assert names == (["preferred_img" + stem, "preferred_img_masked" + stem] if "dgn" in script
                     else ["preferred_img" + stem])
