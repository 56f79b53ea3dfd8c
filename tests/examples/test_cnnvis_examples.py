"""The cnn-vis gallery scripts (examples/cnn-vis/) end to end on the tiny
classifier: its conv3 stands in for GoogLeNet's layers, the sizes shrink to
the tiny net's scale, everything else is the example's own command line."""
import os
import re
import subprocess

import numpy as np
import pytest

from prefinput.image import imread, imsave

pytest.importorskip("caffe", reason="pycaffe is not importable: run `make setup` first")

SMALL = ["--target_layer=conv3", "--initial_size=30x40", "--final_size=40x50"]


@pytest.fixture
def examples(repo):
    """The cnn-vis example scripts' folder."""
    return repo / "examples" / "cnn-vis"


def test_thirteen_examples_each_run_cnn_vis(examples):
    scripts = sorted(examples.glob("example*.sh"))
    assert [p.name for p in scripts] == sorted("example%d.sh" % n for n in range(1, 14))
    for script in scripts:
        assert os.access(script, os.X_OK), script
        assert "cnn_vis " in script.read_text() and '"$@"' in script.read_text()


@pytest.fixture
def initial_imgs(tmp_path, shared_path):
    """The original's start images, plus a stand-in for scream.jpg, which
    the original repository never committed."""
    folder = tmp_path / "initial_imgs"
    folder.mkdir()
    for picture in shared_path("reference", "cnn-vis", "initial_imgs").iterdir():
        (folder / picture.name).symlink_to(picture)
    imsave(folder / "scream.jpg", (np.random.RandomState(0).rand(400, 320, 3) * 255).astype(np.uint8))
    return folder


@pytest.mark.parametrize("number", range(1, 14))
def test_example_runs_end_to_end_on_the_tiny_net(number, tiny, initial_imgs, tmp_path, examples, shared_path):
    script = examples / ("example%d.sh" % number)
    prototxt, weights = tiny["classifier"]
    env = {**os.environ, "GLOG_minloglevel": "2", "PREFINPUT_OFFLINE": "1",
           "NETS_DIR": str(tmp_path / "nets"), "OUTPUT_DIR": str(tmp_path / "out"), "NUM_STEPS": "1",
           "DEPLOY_TXT": prototxt, "CAFFE_MODEL": weights,
           "PLACES_DEPLOY_TXT": prototxt, "PLACES_CAFFE_MODEL": weights,
           "MEAN_IMAGE": str(shared_path("reference", "cnnpref", "data", "ilsvrc_2012_mean.npy")),
           "INITIAL_IMGS": str(initial_imgs)}
    done = subprocess.run([str(script), *SMALL], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    num_sizes = re.search(r"--num_sizes=(\d+)", script.read_text()).group(1)
    assert done.stdout.count("total_size:") == int(num_sizes)
    assert imread(tmp_path / "out" / ("example%d.png" % number)).shape == (40, 50, 3)
