"""regression.py on fixture collages made here: panels found in a published
image laid out differently, scored by SSIM and the unit's activation, and
the exit status against the threshold."""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from harness import manifests, scoring
from prefinput import collage
from prefinput.errors import UserError
from prefinput.image import imread, imsave
from prefinput.netdefs import loading

UNITS = [1, 2, 3, 4, 5]


def example_collage(folder, name, images, tiny, pointsize=30):
    """A collage of labelled `images` as the example scripts make it, with its
    manifest; returns the collage's path."""
    os.makedirs(folder, exist_ok=True)
    files = [collage.label_below(image, str(unit), out=os.path.join(folder, f"fc8_{unit:04d}.png"),
                                 pointsize=pointsize) for image, unit in zip(images, UNITS)]
    path = os.path.join(folder, name)
    collage.montage(files, path, tile=(5, 1))
    manifests.write_manifest(path, (5, 1), files, UNITS, (27, 27), (0, 0), net=tiny["classifier"], layer="fc8")
    return path


def published(folder, name, images):
    """The 'published' collage: other label heights and no trim, so the panels
    sit elsewhere than in ours."""
    os.makedirs(folder, exist_ok=True)
    files = [collage.label_below(image, "unit %d" % unit, out=os.path.join(folder, f"{unit}.png"), pointsize=18,
                                 gap=4) for image, unit in zip(images, UNITS)]
    return collage.montage(files, os.path.join(folder, name), tile=(5, 1), trim=False)


def regression_cli(repo, *args):
    env = dict(os.environ, PREFINPUT_OFFLINE="1")
    return subprocess.run([sys.executable, str(repo / "regression.py"), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=120)


def test_identical_panels_score_one_and_equal_activations(tmp_path, tiny, repo, panel):
    import caffe
    images = [panel(seed) for seed in range(5)]
    ours = example_collage(str(tmp_path / "output"), "example1.png", images, tiny)
    published(str(tmp_path / "published"), "example1.png", images)
    done = regression_cli(repo, ours, "--published_dir", tmp_path / "published")
    assert done.returncode == 0, done.stderr
    lines = [line.split() for line in done.stdout.splitlines() if line.startswith("fc8_")]
    assert [int(line[2]) for line in lines] == UNITS
    assert all(line[4] == "1.000" and line[7] == line[9] for line in lines)
    # the activation is the unit's fc8 on the mean-subtracted BGR panel
    net = caffe.Net(*tiny["classifier"], caffe.TEST)
    net.forward(data=(images[0][:, :, ::-1].astype(np.float32) - loading.CLASSIFIER_MEAN).transpose(2, 0, 1)[np.newaxis])
    assert lines[0][7] == "%.2f" % net.blobs["fc8"].data[0, 1]
    picture = imread(str(tmp_path / "output" / "example1_vs_published.jpg"))
    assert picture.shape[1] > 5 * 2 * 27


def test_other_images_fail_the_threshold(regression_main, tmp_path, tiny, panel):
    ours = example_collage(str(tmp_path / "output"), "example2.png", [panel(seed) for seed in range(5)], tiny)
    published(str(tmp_path / "published"), "example2.png", [panel(seed) for seed in range(10, 15)])
    status, out = regression_main(ours, "--published_dir", tmp_path / "published", "--threshold", 0.9)
    assert status == 1 and "5 of 5 panels below 0.90" in out


def test_a_slightly_different_panel_passes_a_lower_threshold(regression_main, tmp_path, tiny, panel):
    images = [panel(seed) for seed in range(5)]
    noisy = [np.clip(image + np.random.RandomState(1).randint(-12, 13, image.shape), 0, 255).astype(np.uint8)
             for image in images]
    ours = example_collage(str(tmp_path / "output"), "example1.png", images, tiny)
    published(str(tmp_path / "published"), "example1.png", noisy)
    scores = scoring.compare(ours, str(tmp_path / "published" / "example1.png"), str(tmp_path / "p.png"))
    assert all(0.5 < score.ssim < 1 for score in scores)
    assert regression_main(ours, "--published_dir", tmp_path / "published", "--threshold", 0.5)[0] == 0


def test_find_panel_locates_panels_in_a_grid_with_other_cell_sizes(panel):
    images = [panel(seed, 12) for seed in range(6)]
    sheet = np.full((2 * 30 + 3, 3 * 16, 3), 255, dtype=np.uint8)
    for index, image in enumerate(images):
        row, column = divmod(index, 3)
        sheet[row * 33 + 2:row * 33 + 14, column * 16 + 1:column * 16 + 13] = image
    for index, image in enumerate(images):
        assert np.array_equal(scoring.find_panel(sheet, image, index, (3, 2)), image)


def test_a_missing_published_image_is_one_line(tmp_path, tiny, repo, panel):
    ours = example_collage(str(tmp_path / "output"), "example1.png", [panel(seed) for seed in range(5)], tiny)
    done = regression_cli(repo, ours, "--published_dir", tmp_path / "nowhere")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("regression.py: error: ") and "nowhere/example1.png" in done.stderr


def test_a_collage_without_its_manifest_is_a_user_error(regression_main, tmp_path, panel):
    (tmp_path / "published").mkdir()
    collage.montage([panel(0)], str(tmp_path / "published" / "example1.png"))
    with pytest.raises(UserError, match="run the example script"):
        regression_main(tmp_path / "example1.png", "--published_dir", tmp_path / "published")


@pytest.mark.parametrize("offset", [(0, 0), (3, 5)])
def test_activation_places_the_panel_at_its_offset_in_a_mean_input(tiny, offset, panel):
    import caffe
    net = caffe.Net(*tiny["classifier"], caffe.TEST)
    image = panel(3, 15)
    value = scoring.activation(net, image, "conv5", 4, 2, offset)
    data = np.zeros((1, 3, 27, 27), dtype=np.float32)
    data[0, :, offset[0]:offset[0] + 15, offset[1]:offset[1] + 15] = \
        (image[:, :, ::-1].astype(np.float32) - loading.CLASSIFIER_MEAN).transpose(2, 0, 1)
    net.forward(data=data, end="conv5")
    assert value == float(net.blobs["conv5"].data[0, 4, 2, 2])


# --- the layouts PPGN's published pictures need, on manifests written here ---

def manifest_picture(folder, images, tiny, published, units=UNITS, layer="fc8", **fields):
    """Our picture of `images` (a row of 5, as a PPGN montage: no labels, no
    trim) with a manifest naming `published`; returns the picture's path."""
    os.makedirs(folder, exist_ok=True)
    files = [os.path.join(folder, f"{index:05d}.png") for index in range(len(images))]
    for image, path in zip(images, files):
        imsave(path, image)
    picture = collage.montage(files, os.path.join(folder, "chain.png"), tile=(5, 1), trim=False)
    size = images[0].shape[:2]
    manifests.save_manifest(picture, dict({
        "tile": [5, 1], "published": published, "net_definition": tiny["classifier"][0],
        "net_weights": tiny["classifier"][1], "layer": layer, "xy": 0, "panel_size": list(size),
        "panel_offset": [0, 0], "act_region": None,
        "panels": [{"file": path, "unit": unit} for path, unit in zip(files, units)]}, **fields))
    return picture


def test_save_manifest_writes_panel_files_relative_to_the_picture(tmp_path, tiny, panel):
    picture = manifest_picture(str(tmp_path / "out"), [panel(seed) for seed in range(5)], tiny, None)
    with open(tmp_path / "out" / "chain.json") as f:
        saved = json.load(f)
    assert saved["collage"] == "chain.png" and saved["panels"][1]["file"] == "00001.png"
    assert manifests.load_manifest(picture)["panels"][1]["file"] == str(tmp_path / "out" / "00001.png")


def test_any_layout_pairs_each_panel_with_its_copy_in_a_shuffled_sheet(regression_main, tmp_path, tiny, panel, sheet):
    images = [panel(seed) for seed in range(5)]
    others = [panel(seed) for seed in range(20, 27)]
    ours = manifest_picture(str(tmp_path / "out"), images, tiny,
                            {"image": "ppgn/faces.png", "layout": "any", "tile": [4, 3]})
    shuffled = others[:3] + [images[3], images[0]] + others[3:] + [images[4], images[2], images[1]]
    sheet(shuffled, tmp_path / "published" / "faces.png", (4, 3), border=2)
    status, out = regression_main(ours, "--published_dir", tmp_path / "published", "--threshold", 0.99)
    assert status == 0 and "(any:4x3)" in out
    assert [line.split()[4] for line in out.splitlines() if line.startswith("0000")] == ["1.000"] * 5


def test_cells_are_the_centres_of_evenly_sized_cells():
    sheet = np.zeros((2 * 20, 3 * 30, 3), dtype=np.uint8)
    sheet[25:35, 70:80] = 200  # the centre of the last cell
    found = scoring.cells(sheet, (3, 2), (10, 10))
    assert len(found) == 6 and found[5].min() == 200 and found[4].max() == 0
    with pytest.raises(UserError, match="no room"):
        scoring.cells(sheet, (3, 2), (21, 10))


def test_whole_layout_compares_the_whole_picture_with_the_published_one_resized(regression_main, tmp_path, tiny,
                                                                                 panel, sheet):
    ours = manifest_picture(str(tmp_path / "out"), [panel(seed) for seed in range(5)], tiny, None)
    twice = np.kron(imread(ours), np.ones((2, 2, 1), dtype=np.uint8))  # the same picture at twice the size
    sheet([twice], tmp_path / "big.png", (1, 1), border=0)
    status, out = regression_main(ours, "--published", tmp_path / "big.png", "--threshold", 0.9)
    assert status == 0 and "(whole)" in out and "chain.png" in out.splitlines()[1]
    picture = imread(str(tmp_path / "out" / "chain_vs_published.jpg"))
    assert picture.shape[1] > 2 * imread(ours).shape[1]  # ours beside the published one, at our size
    sheet([panel(40, 60)], tmp_path / "other.png", (1, 1), border=0)
    assert regression_main(ours, "--published", tmp_path / "other.png", "--threshold", 0.9)[0] == 1


def test_layout_flag_overrides_the_manifests(regression_main, tmp_path, tiny, panel, sheet):
    images = [panel(seed) for seed in range(5)]
    ours = manifest_picture(str(tmp_path / "out"), images, tiny,
                            {"image": "ppgn/chain.png", "layout": "grid", "tile": [5, 1]})
    sheet(images[::-1], tmp_path / "published" / "chain.png", (5, 1))
    assert regression_main(ours, "--published_dir", tmp_path / "published", "--threshold", 0.99)[0] == 1
    assert regression_main(ours, "--published_dir", tmp_path / "published", "--threshold", 0.99,
                           "--layout", "any:5x1")[0] == 0


@pytest.mark.parametrize("text, layout", [("whole", {"layout": "whole"}),
                                          ("grid:10x4", {"layout": "grid", "tile": [10, 4]}),
                                          ("any:20x20", {"layout": "any", "tile": [20, 20]})])
def test_parse_layout(text, layout):
    assert manifests.parse_layout(text) == layout


@pytest.mark.parametrize("text", ["whole:3x3", "grid", "grid:10", "rows:3x3"])
def test_parse_layout_refuses(text):
    with pytest.raises(argparse.ArgumentTypeError, match="grid:CxR"):
        manifests.parse_layout(text)


def test_a_picture_without_a_target_unit_is_scored_by_ssim_alone(regression_main, tmp_path, tiny, panel, sheet):
    images = [panel(seed) for seed in range(3)]
    ours = manifest_picture(str(tmp_path / "out"), images, tiny,
                            {"image": "ppgn/caption.png", "layout": "grid", "tile": [3, 1]},
                            units=[None] * 3, layer=None, net_definition=None, net_weights=None, tile=[3, 1])
    collage.label_below(sheet(images, tmp_path / "published" / "caption.png", (3, 1)), "a caption")
    status, out = regression_main(ours, "--published_dir", tmp_path / "published")
    assert status == 0
    assert [line.split()[2:] for line in out.splitlines() if line.startswith("0000")] == \
        [["-", "SSIM", "1.000", "act", "ours", "-", "published", "-"]] * 3


def test_act_region_is_the_part_of_the_panel_the_net_scores(tmp_path, tiny, panel, sheet):
    import caffe
    pairs = [np.concatenate([panel(seed), np.zeros((27, 1, 3), np.uint8), panel(seed + 10)], axis=1)
             for seed in range(5)]
    ours = manifest_picture(str(tmp_path / "out"), pairs, tiny, None, act_region=[0, 28, 27, 27])
    sheet(pairs, tmp_path / "published.png", (5, 1))
    scores = scoring.compare(ours, str(tmp_path / "published.png"), str(tmp_path / "p.jpg"),
                             {"layout": "grid", "tile": [5, 1]})
    net = caffe.Net(*tiny["classifier"], caffe.TEST)
    expected = scoring.activation(net, panel(10), "fc8", 1, 0, (0, 0))
    assert scores[0].ours == scores[0].published == expected


def test_an_example_published_nowhere_is_a_user_error(regression_main, tmp_path, tiny, panel):
    ours = manifest_picture(str(tmp_path / "out"), [panel(seed) for seed in range(5)], tiny, None)
    with pytest.raises(UserError, match="published no picture of this example; name one with --published"):
        regression_main(ours)


def test_more_panels_than_the_published_grid_is_a_user_error(regression_main, tmp_path, tiny, panel, sheet):
    images = [panel(seed) for seed in range(5)]
    ours = manifest_picture(str(tmp_path / "out"), images, tiny,
                            {"image": "ppgn/chain.png", "layout": "grid", "tile": [3, 1]})
    sheet(images[:3], tmp_path / "published" / "chain.png", (3, 1))
    with pytest.raises(UserError, match="5 panels, the published 3x1 grid 3.*--layout any:3x1"):
        regression_main(ours, "--published_dir", tmp_path / "published")


def test_panels_pair_by_unit_and_an_unpublished_unit_is_reported_not_scored(regression_main, tmp_path, tiny, panel,
                                                                            sheet, monkeypatch):
    images = [panel(seed) for seed in range(5)]
    monkeypatch.setitem(scoring.PUBLISHED_UNITS, "test/reversed.png", [5, 4, 3, 2, 1])
    ours = manifest_picture(str(tmp_path / "out"), images, tiny,
                            {"image": "test/reversed.png", "layout": "grid", "tile": [5, 1]}, units=[1, 2, 3, 4, 9])
    sheet([panel(50)] + images[3::-1], tmp_path / "published" / "reversed.png", (5, 1), border=2)  # units 5..1
    status, out = regression_main(ours, "--published_dir", tmp_path / "published", "--threshold", 0.99)
    lines = [line.split() for line in out.splitlines() if line.startswith("0000")]
    assert status == 0, out
    assert [line[4] for line in lines[:4]] == ["1.000"] * 4  # each beside its own unit, not its position
    assert lines[4][:3] == ["00004.png", "unit", "9"] and "not in the published picture" in out.splitlines()[5]
    assert "4 of 4 panels" not in out and "0 of 4 panels below 0.99, 1 not in the published picture" in out
    assert imread(str(tmp_path / "out" / "chain_vs_published.jpg")).shape[1] > 5 * 2 * 27


def test_published_file_with_whole_layout_needs_no_manifest(regression_main, tmp_path, panel, sheet):
    ours = sheet([panel(1, 60)], tmp_path / "mine.png", (1, 1), border=0)
    sheet([panel(1, 60)], tmp_path / "theirs.png", (1, 1), border=0)
    assert not os.path.exists(tmp_path / "mine.json")
    status, out = regression_main(ours, "--published", tmp_path / "theirs.png", "--layout", "whole")
    assert status == 0 and "mean SSIM 1.000" in out, out
    assert os.path.exists(tmp_path / "mine_vs_published.jpg")


# --- broken published pictures, and pictures that say nothing (issue 21) -----

def published_truncated(path, panel, bomb):
    collage.montage([panel(seed) for seed in range(5)], str(path), tile=(5, 1), trim=False)
    path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])


def pillow_image(mode, size, colour):
    def make(path, panel, bomb):
        from PIL import Image
        Image.new(mode, size, colour).save(path)
    return make


# (id, maker(path, panel, bomb_png) of the published example1.png, the one line's pattern after its path)
BROKEN_PUBLISHED = [
    ("corrupt", lambda path, panel, bomb: path.write_bytes(b"\x89PNG\r\n\x1a\n not a PNG after all"),
     r": not an image Pillow can read \(.*\); give a JPEG or PNG$"),
    ("truncated", published_truncated, r": not an image Pillow can read \(.*\); give a JPEG or PNG$"),
    ("grey", pillow_image("L", (200, 60), 128),
     r": a grey picture \(shape \(60, 200\)\), not colour; convert it first, e\.g\. convert "),
    ("tiny", pillow_image("RGB", (5, 5), "red"),
     r": 5x5 pixels, too small to compare \(SSIM needs 7x7\); give the full-size picture$"),
    ("decompression bomb", lambda path, panel, bomb: shutil.copy(bomb, path),
     r": over \d+ pixels, more than Pillow decodes safely \(a decompression bomb\?\); give a smaller picture$"),
]


@pytest.mark.parametrize("make, pattern", [row[1:] for row in BROKEN_PUBLISHED],
                         ids=[row[0] for row in BROKEN_PUBLISHED])
@pytest.mark.parametrize("layout", [[], ["--layout", "whole"]], ids=["grid", "whole"])
def test_a_broken_published_picture_is_one_line(tmp_path, tiny, repo, panel, bomb_png, make, pattern, layout):
    import re
    ours = example_collage(str(tmp_path / "output"), "example1.png", [panel(seed) for seed in range(5)], tiny)
    (tmp_path / "published").mkdir()
    make(tmp_path / "published" / "example1.png", panel, bomb_png)
    done = regression_cli(repo, ours, "--published_dir", tmp_path / "published", *layout)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stdout + done.stderr
    assert re.match(r"regression\.py: error: the published picture \S*published/example1\.png" + pattern, done.stderr)


def test_a_one_pixel_picture_is_one_line_not_a_pass(tmp_path, repo, sheet, panel):
    from PIL import Image
    Image.new("RGB", (1, 1), "grey").save(tmp_path / "ours.png")
    sheet([panel(3, 60)], tmp_path / "theirs.png", (1, 1), border=0)
    done = regression_cli(repo, tmp_path / "ours.png", "--published", tmp_path / "theirs.png")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stdout + done.stderr
    assert "ours.png: 1x1 pixels, too small to compare" in done.stderr


@pytest.mark.parametrize("theirs", ["blank", "textured"])
def test_a_blank_picture_never_passes(regression_main, tmp_path, panel, theirs):
    """A solid picture scores no better than a blank one, whatever the threshold: it fails."""
    blank = np.full((60, 60, 3), 128, dtype=np.uint8)
    ours = tmp_path / "ours.png"
    imsave(ours, blank)  # in colour (a montage of it would be saved grey)
    imsave(tmp_path / "theirs.png", blank if theirs == "blank" else panel(3, 60))
    status, out = regression_main(ours, "--published", tmp_path / "theirs.png", "--threshold", 0)
    assert status == 1 and "1 no better than a blank or noise picture" in out, out


def test_the_floor_is_what_blank_and_noise_score(panel):
    theirs = panel(7, 30)
    floor = scoring.floor_of(theirs)
    blank = np.full_like(theirs, 0) + theirs.mean(axis=(0, 1)).round().astype(np.uint8)
    assert floor >= scoring.ssim(blank, theirs) and floor < 0.5
    assert scoring.floor_of(np.full((30, 30, 3), 7, dtype=np.uint8)) == 1.0


def test_a_sum_of_units_is_reported_and_never_paired_with_a_published_cell(regression_main, tmp_path, tiny, panel,
                                                                           sheet):
    """A panel of an --objective (its text, no unit, as manifests.write_manifest writes it) is not
    scored, though the published grid has a cell at its place."""
    images = [panel(seed) for seed in range(5)]
    folder = str(tmp_path / "out")
    panels = [manifests.panel_entry(os.path.join(folder, f"{index:05d}.png"), unit)
              for index, unit in enumerate([1, 2, "fc8:3 + fc8:4", 4, 5])]
    ours = manifest_picture(folder, images, tiny, {"image": "test/row.png", "layout": "grid", "tile": [5, 1]},
                            panels=panels)
    sheet(images, tmp_path / "published" / "row.png", (5, 1), border=2)
    status, out = regression_main(ours, "--published_dir", tmp_path / "published", "--threshold", 0.99)
    assert status == 0, out
    assert "0 of 4 panels below 0.99, 1 not in the published picture" in out
    assert any("fc8:3 + fc8:4" in line and "not in the published picture" in line for line in out.splitlines())
