"""The five DGN-AM example scripts end to end on the tiny nets: one Python
process each, labelled (and for example 4 cropped) images, the collage and
the manifest regression.py reads."""
import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from prefinput.image import imread, imsave

N_ITERS = 2


@pytest.fixture
def run_script(repo, shared_path, tmp_path, tiny):
    """Run an example script on the tiny nets in tmp_path; return (stdout,
    output folder, number of Python processes it started)."""
    synsets = tmp_path / "synsets.txt"
    synsets.write_text("".join(f"n0{unit} class{unit} name, other\n" for unit in range(10)))
    places = tmp_path / "places.txt"
    places.write_text("".join(f"scene_{unit}_x {unit}\n" for unit in range(10)))
    start = np.zeros((30, 40, 3), dtype=np.uint8)
    start[5:25, 10:30] = (200, 30, 20)  # a red square
    imsave(str(tmp_path / "start.jpg"), start)
    # a python that counts its own starts
    counter = tmp_path / "starts"
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\necho started >> "{counter}"\nexec "{sys.executable}" "$@"\n')
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    classifier, generator = tiny["classifier"], tiny["generator"]
    env = dict(os.environ, OPENBLAS_CORETYPE="Haswell", OPENBLAS_NUM_THREADS="1", PREFINPUT_OFFLINE="1",
               PYTHON=str(python), NETS_DIR=str(tmp_path / "no-nets"), OUTPUT_DIR=str(tmp_path / "output"),
               N_ITERS=str(N_ITERS), NET_DEFINITION=classifier[0], NET_WEIGHTS=classifier[1],
               GENERATOR_DEFINITION=generator[0], GENERATOR_WEIGHTS=generator[1],
               ENCODER_DEFINITION=classifier[0], ENCODER_WEIGHTS=classifier[1],
               MEAN_FILE_MAT=str(shared_path("reference", "synthesizing", "ilsvrc_2012_mean.mat")),
               BOUND_FILE=tiny["fc6_bound"], SYNSET_FILE=str(synsets), PLACES_LABEL_FILE=str(places),
               INIT_FILE=str(tmp_path / "start.jpg"), UNITS="1 2 3 4 5")

    def run(script, **overrides):
        done = subprocess.run([str(repo / script)], cwd=tmp_path, env=dict(env, **overrides),
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done.stdout, tmp_path / "output", len(counter.read_text().splitlines())
    return run


def check_collage(output, name, panels, panel_size):
    """The collage exists and its manifest lists `panels` labelled files."""
    assert imread(str(output / name)).ndim == 3
    with open(output / name.replace(".jpg", ".json")) as f:
        manifest = json.load(f)
    assert manifest["collage"] == name and manifest["panel_size"] == list(panel_size)
    files = [output / panel["file"] for panel in manifest["panels"]]
    assert len(files) == panels and all(f.is_file() for f in files)
    return manifest, files


@pytest.mark.parametrize("script, example, overrides", [
    ("1_activate_output.sh", 1, {}),
    ("2_activate_output_placesCNN.sh", 2, {}),
    ("5_activate_output_GoogLeNet.sh", 5, {"ACT_LAYER": "fc8"}),
])
def test_output_unit_examples_label_and_tile_five_units_in_one_process(run_script, script, example, overrides):
    out, output, starts = run_script(script, **overrides)
    assert starts == 1
    assert f"Result of example {example}: [ {output}/example{example}.jpg ]" in out
    manifest, files = check_collage(output, f"example{example}.jpg", 5, (27, 27))
    assert [panel["unit"] for panel in manifest["panels"]] == [1, 2, 3, 4, 5]
    assert [f.name for f in files] == [f"fc8_{unit:04d}_{N_ITERS:02d}_0.99_{'2.0' if example == 5 else '8.0'}__0.jpg"
                                       for unit in (1, 2, 3, 4, 5)]
    for f in files:
        labelled = imread(str(f))
        assert labelled.shape[0] > 27 + 10 and labelled[37:].min() < 100  # a label under each image


def test_example_3_starts_from_the_image_and_tiles_the_iterations(run_script, tmp_path):
    out, output, starts = run_script("3_start_from_real_image.sh", UNITS="7")
    assert starts == 1 and "Loaded start code:  (1, 64)" in out
    assert f"Intermediate results: {output}/example3.jpg" in out
    manifest, files = check_collage(output, "example3.jpg", N_ITERS + 1, (27, 27))
    assert [f.name for f in files] == ["%03d.jpg" % i for i in range(N_ITERS + 1)]
    assert (output / "fc8_0007_02_0.99_1.0__0.jpg").is_file()


def test_example_4_crops_each_conv5_image_to_the_receptive_field(run_script):
    out, output, starts = run_script("4_activate_hidden.sh", XY="2", CROP_SIZE="15", CROP_OFFSET="6")
    assert starts == 1
    manifest, files = check_collage(output, "example4.jpg", 5, (15, 15))
    assert manifest["layer"] == "conv5" and manifest["xy"] == 2 and manifest["panel_offset"] == [6, 6]
    assert all(f.name.startswith("conv5_") for f in files)
    assert all(imread(str(f)).shape[0] > 15 + 10 for f in files)  # cropped to 15 rows, then labelled


def test_two_classes_tiles_each_class_alone_and_their_sum_labelled_by_name(run_script):
    out, output, starts = run_script("examples/two_classes.sh", OBJECTIVE="fc8:1 + fc8:2", ALONE="fc8:1 fc8:2")
    assert starts == 1 and "Result: [ " in out
    manifest, files = check_collage(output, "two_classes.jpg", 3, (27, 27))
    assert [panel["unit"] for panel in manifest["panels"]] == [1, 2, None]
    assert manifest["panels"][2]["objective"] == "fc8:1 + fc8:2" and manifest["published"] is None
    assert files[2].name == f"fc8_0001+fc8_0002_{N_ITERS:02d}_0.99_8.0__0.jpg"
    assert all(imread(str(f)).shape[0] > 27 + 5 for f in files)  # a label under each


def test_a_sum_is_labelled_with_each_terms_label():
    from harness.figures import label_of_result
    from prefinput.results import Result
    lines = ["n01 tench, Tinca", "n02 goldfish, Carassius", "n03 great white shark, white shark"]
    total = Result("x.jpg", None, 1.0, [], "fc8:1 - 0.5*fc8:2 + conv5:7")
    assert label_of_result(total, "synset", lines) == "goldfish - 0.5 great white + conv5:7"
    assert label_of_result(total, "unit", lines) == "fc8:1 - 0.5*fc8:2 + conv5:7"
    assert label_of_result(Result("x.jpg", 2, 1.0, [], "fc8:2"), "synset", lines) == "great white"
