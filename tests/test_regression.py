"""regression.py on fixture collages made here: panels found in a published
image laid out differently, scored by SSIM and the unit's activation, and
the exit status against the threshold."""
import argparse
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO
from prefinput import actmax, collage, regression
from prefinput.cli import UserError
from prefinput.image import imread

UNITS = [1, 2, 3, 4, 5]


def panel(seed, size=27):
    """A smooth random RGB image (SSIM is meaningful on it)."""
    state = np.random.RandomState(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    channels = [np.sin(state.uniform(2, 6) * x + state.uniform(2, 6) * y + state.uniform(0, 6)) for _ in range(3)]
    return ((np.stack(channels, axis=2) + 1) * 120 + 5).astype(np.uint8)


def example_collage(folder, name, images, tiny, pointsize=30):
    """A collage of labelled `images` as the example scripts make it, with its
    manifest; returns the collage's path."""
    os.makedirs(folder, exist_ok=True)
    files = [collage.label_below(image, str(unit), out=os.path.join(folder, f"fc8_{unit:04d}.png"),
                                 pointsize=pointsize) for image, unit in zip(images, UNITS)]
    path = os.path.join(folder, name)
    collage.montage(files, path, tile=(5, 1))
    args = argparse.Namespace(collage=path, tile=(5, 1), net_definition=tiny["classifier"][0],
                              net_weights=tiny["classifier"][1], act_layer="fc8", xy=0)
    actmax.write_manifest(args, files, UNITS, (27, 27), (0, 0))
    return path


def published(folder, name, images):
    """The 'published' collage: other label heights and no trim, so the panels
    sit elsewhere than in ours."""
    os.makedirs(folder, exist_ok=True)
    files = [collage.label_below(image, "unit %d" % unit, out=os.path.join(folder, f"{unit}.png"), pointsize=18,
                                 gap=4) for image, unit in zip(images, UNITS)]
    return collage.montage(files, os.path.join(folder, name), tile=(5, 1), trim=False)


@pytest.fixture
def main(monkeypatch, capsys):
    """regression.main in this process; (exit status, what it printed)."""
    monkeypatch.setenv("PREFINPUT_OFFLINE", "1")

    def run(*args):
        capsys.readouterr()
        status = regression.main([str(arg) for arg in args])
        return status, capsys.readouterr().out
    return run


def regression_cli(*args):
    env = dict(os.environ, PREFINPUT_OFFLINE="1")
    return subprocess.run([sys.executable, str(REPO / "regression.py"), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=120)


def test_identical_panels_score_one_and_equal_activations(tmp_path, tiny):
    import caffe
    images = [panel(seed) for seed in range(5)]
    ours = example_collage(str(tmp_path / "output"), "example1.png", images, tiny)
    published(str(tmp_path / "published"), "example1.png", images)
    done = regression_cli(ours, "--published_dir", tmp_path / "published")
    assert done.returncode == 0, done.stderr
    lines = [line.split() for line in done.stdout.splitlines() if line.startswith("fc8_")]
    assert [int(line[2]) for line in lines] == UNITS
    assert all(line[4] == "1.000" and line[7] == line[9] for line in lines)
    # the activation is the unit's fc8 on the mean-subtracted BGR panel
    net = caffe.Net(*tiny["classifier"], caffe.TEST)
    net.forward(data=(images[0][:, :, ::-1].astype(np.float32) - actmax.MEAN).transpose(2, 0, 1)[np.newaxis])
    assert lines[0][7] == "%.2f" % net.blobs["fc8"].data[0, 1]
    picture = imread(str(tmp_path / "output" / "example1_vs_published.jpg"))
    assert picture.shape[1] > 5 * 2 * 27


def test_other_images_fail_the_threshold(main, tmp_path, tiny):
    ours = example_collage(str(tmp_path / "output"), "example2.png", [panel(seed) for seed in range(5)], tiny)
    published(str(tmp_path / "published"), "example2.png", [panel(seed) for seed in range(10, 15)])
    status, out = main(ours, "--published_dir", tmp_path / "published", "--threshold", 0.9)
    assert status == 1 and "5 of 5 panels below 0.90" in out


def test_a_slightly_different_panel_passes_a_lower_threshold(main, tmp_path, tiny):
    images = [panel(seed) for seed in range(5)]
    noisy = [np.clip(image + np.random.RandomState(1).randint(-12, 13, image.shape), 0, 255).astype(np.uint8)
             for image in images]
    ours = example_collage(str(tmp_path / "output"), "example1.png", images, tiny)
    published(str(tmp_path / "published"), "example1.png", noisy)
    scores = regression.compare(ours, str(tmp_path / "published" / "example1.png"), str(tmp_path / "p.png"))
    assert all(0.5 < score.ssim < 1 for score in scores)
    assert main(ours, "--published_dir", tmp_path / "published", "--threshold", 0.5)[0] == 0


def test_find_panel_locates_panels_in_a_grid_with_other_cell_sizes():
    images = [panel(seed, 12) for seed in range(6)]
    sheet = np.full((2 * 30 + 3, 3 * 16, 3), 255, dtype=np.uint8)
    for index, image in enumerate(images):
        row, column = divmod(index, 3)
        sheet[row * 33 + 2:row * 33 + 14, column * 16 + 1:column * 16 + 13] = image
    for index, image in enumerate(images):
        assert np.array_equal(regression.find_panel(sheet, image, index, (3, 2)), image)


def test_a_missing_published_image_is_one_line(tmp_path, tiny):
    ours = example_collage(str(tmp_path / "output"), "example1.png", [panel(seed) for seed in range(5)], tiny)
    done = regression_cli(ours, "--published_dir", tmp_path / "nowhere")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("regression.py: error: ") and "nowhere/example1.png" in done.stderr


def test_a_collage_without_its_manifest_is_a_user_error(main, tmp_path):
    (tmp_path / "published").mkdir()
    collage.montage([panel(0)], str(tmp_path / "published" / "example1.png"))
    with pytest.raises(UserError, match="run the example script"):
        main(tmp_path / "example1.png", "--published_dir", tmp_path / "published")


@pytest.mark.parametrize("offset", [(0, 0), (3, 5)])
def test_activation_places_the_panel_at_its_offset_in_a_mean_input(tiny, offset):
    import caffe
    net = caffe.Net(*tiny["classifier"], caffe.TEST)
    image = panel(3, 15)
    value = regression.activation(net, image, "conv5", 4, 2, offset)
    data = np.zeros((1, 3, 27, 27), dtype=np.float32)
    data[0, :, offset[0]:offset[0] + 15, offset[1]:offset[1] + 15] = \
        (image[:, :, ::-1].astype(np.float32) - actmax.MEAN).transpose(2, 0, 1)
    net.forward(data=data, end="conv5")
    assert value == float(net.blobs["conv5"].data[0, 4, 2, 2])
