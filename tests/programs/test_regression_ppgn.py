"""The regression check on the PPGN examples: each script, run end to end on
the tiny nets, writes the manifest beside its montage, and regression.py
puts that montage beside a made-up "published" picture laid out as the
original's (the real weights and pictures cannot be had here)."""
import json

import pytest

from harness import manifests, scoring
from prefinput.image import imread, imsave


def manifest_of(picture):
    with open(picture.with_suffix(".json")) as f:
        return json.load(f)


def our_panels(picture):
    """Our panels as regression.py cuts them out of the files the manifest lists."""
    manifest = manifests.load_manifest(str(picture))
    return [scoring.our_panel(panel["file"], manifest["panel_size"]) for panel in manifest["panels"]]


@pytest.fixture
def made_up_published(panel, sheet):
    """made_up_published(path, panels, tile, cells): a 'published' montage of
    `tile` cells: our `panels` in the cells numbered `cells`, other images of
    their size in the rest."""
    def made_up_published(path, panels, tile, cells):
        h, w = panels[0].shape[:2]
        images = [panel(100 + index, max(h, w))[:h, :w] for index in range(tile[0] * tile[1])]
        for image, cell in zip(panels, cells):
            images[cell] = image
        return sheet(images, path, tile, border=3)
    return made_up_published


def test_example_1_chain_beside_the_published_chain(ppgn_environment, run_ppgn_example, regression_main,
                                                     made_up_published, panel, tmp_path, monkeypatch):
    import caffe
    monkeypatch.setitem(scoring.PUBLISHED_UNITS, "ppgn/example1.jpg", [7] * 40)  # the tiny net has no class 13
    run_ppgn_example("1_class_conditional_sampling.sh", "7", tmp_path, ppgn_environment, N_ITERS="10")
    chain = tmp_path / "output" / "fc8_chain_7_eps1_1e-5_eps3_1e-17" / "chain_7_hx_1e-5_noise_1e-17__0.jpg"
    manifest = manifest_of(chain)
    assert manifest["published"]["image"] == "ppgn/example1.jpg"
    assert (manifest["published"]["layout"], manifest["published"]["tile"]) == ("grid", [10, 4])
    assert manifest["panels"] == [{"file": f"samples/{step:05d}.jpg", "unit": 7} for step in (0, 5, 10)]
    assert (manifest["net_definition"], manifest["layer"], manifest["panel_size"]) == \
        (ppgn_environment["NET_DEFINITION"], "fc8", [27, 27])

    ours = our_panels(chain)
    made_up_published(tmp_path / "published" / "example1.jpg", ours, (10, 4), range(3))
    status, out = regression_main(chain, "--published_dir", tmp_path / "published", "--threshold", 0.9)
    assert status == 0, out
    lines = [line.split() for line in out.splitlines() if line.startswith("000")]
    assert [line[0] for line in lines] == ["00000.jpg", "00005.jpg", "00010.jpg"]
    net = caffe.Net(ppgn_environment["NET_DEFINITION"], ppgn_environment["NET_WEIGHTS"], caffe.TEST)
    assert lines[1][7] == "%.2f" % scoring.activation(net, ours[1], "fc8", 7, 0, (0, 0))
    assert imread(chain.with_name(chain.stem + "_vs_published.jpg")).shape[1] > 3 * 2 * 27  # three pairs

    made_up_published(tmp_path / "other" / "example1.jpg", [panel(seed) for seed in range(3)], (10, 4), range(3))
    status, out = regression_main(chain, "--published_dir", tmp_path / "other", "--threshold", 0.9)
    assert status == 1 and "3 of 3 panels below 0.90" in out


def test_example_3_receptive_fields_against_a_random_pick(ppgn_environment, run_ppgn_example, regression_main,
                                                           made_up_published, tmp_path):
    run_ppgn_example("3_hidden_conditional_sampling.sh", "3", tmp_path, ppgn_environment,
                     N_ITERS="20", XY="2", THRESHOLD="-1")
    chain = tmp_path / "output" / "conv5_chain_3_eps1_1e-5_eps3_1e-17" / "chain_3_hx_1e-5_noise_1e-17__0.jpg"
    manifest = manifest_of(chain)
    assert manifest["published"]["image"] == "ppgn/hidden_faces.jpg"
    assert (manifest["published"]["layout"], manifest["published"]["tile"]) == ("any", [10, 3])
    # 163x163+32+32 of 227, scaled to 27: the crop and where it sits in the net's input
    assert (manifest["layer"], manifest["xy"], manifest["panel_size"], manifest["panel_offset"]) == \
        ("conv5", 2, [19, 19], [3, 3])
    made_up_published(tmp_path / "published" / "hidden_faces.jpg", our_panels(chain), (10, 3), (17, 4, 29))
    status, out = regression_main(chain, "--published_dir", tmp_path / "published", "--threshold", 0.9)
    assert status == 0 and "(any:10x3)" in out


def test_example_7_scores_the_filled_in_half(ppgn_environment, run_ppgn_example, regression_main, made_up_published,
                                             tmp_path, monkeypatch):
    import caffe
    run_ppgn_example("7_inpainting.sh", "4", tmp_path, ppgn_environment, N_ITERS="3", SEEDS="0 1")
    picture = tmp_path / "output" / "fc8_chain_4_eps1_1e-5_eps3_0" / "inpainting.jpg"
    manifest = manifest_of(picture)
    assert manifest["published"]["image"] == "ppgn/example7.jpg" and manifest["published"]["tile"] == [5, 2]
    assert (manifest["panel_size"], manifest["act_region"]) == ([27, 55], [0, 28, 27, 27])
    assert [panel["unit"] for panel in manifest["panels"]] == [4, 4]
    ours = our_panels(picture)
    made_up_published(tmp_path / "published" / "example7.jpg", ours, (5, 2), range(2))
    monkeypatch.setitem(scoring.PUBLISHED_UNITS, "ppgn/example7.jpg", [4] * 10)  # the tiny net's class
    status, out = regression_main(picture, "--published_dir", tmp_path / "published", "--threshold", 0.9)
    assert status == 0, out
    net = caffe.Net(ppgn_environment["NET_DEFINITION"], ppgn_environment["NET_WEIGHTS"], caffe.TEST)
    filled = scoring.activation(net, ours[0][:, 28:], "fc8", 4, 0, (0, 0))
    assert out.splitlines()[1].split()[7] == "%.2f" % filled


def test_example_5_caption_sheet_has_no_unit_to_score(ppgn_environment, run_ppgn_example, lrcn, regression_main,
                                                      made_up_published, tmp_path):
    run_ppgn_example("5_caption_conditional_sampling.sh", "a_red_car", tmp_path, ppgn_environment, N_ITERS="2",
                     NET_DEFINITION=lrcn["net_definition"], NET_WEIGHTS=lrcn["net_weights"],
                     CAPTIONER_DEFINITION=lrcn["captioner_definition"], VOCAB_FILE=lrcn["vocab_file"])
    picture = tmp_path / "output" / "fc8_eps1_1e-3_eps3_1e-17" / "a_red_car" / "a_red_car.jpg"
    manifest = manifest_of(picture)
    assert manifest["published"]["image"] == "ppgn/a_church_steeple_that_has_a_clock_on_it.jpg"
    assert manifest["layer"] is None and [panel["unit"] for panel in manifest["panels"]] == [None] * 3
    made_up_published(tmp_path / "published" / "a_church_steeple_that_has_a_clock_on_it.jpg",
                      our_panels(picture), (3, 1), range(3))
    status, out = regression_main(picture, "--published_dir", tmp_path / "published", "--threshold", 0.9)
    assert status == 0, out
    lines = [line.split() for line in out.splitlines() if line.startswith("fc8_")]
    assert len(lines) == 3 and all(line[2] == line[7] == line[9] == "-" for line in lines)


def test_example_2_was_published_only_as_gifs(ppgn_environment, run_ppgn_example, regression_main, tmp_path):
    from prefinput.errors import UserError
    run_ppgn_example("2_class_conditional_sampling_many.sh", "1e-5", tmp_path, ppgn_environment,
                     UNITS="3 7", N_ITERS="3")
    chain = tmp_path / "output" / "fc8_chain_3_7_eps1_1e-5_eps3_1e-17" / "chain_3_7_hx_1e-5_noise_1e-17__0.jpg"
    manifest = manifest_of(chain)
    assert manifest["published"] is None
    # steps 0-3 on unit 3, then 4-6 on unit 7; the labelled samples are cut back to the image
    assert [panel["unit"] for panel in manifest["panels"]] == [3, 3, 3, 3, 7, 7, 7]
    assert our_panels(chain)[0].shape == (27, 27, 3)
    with pytest.raises(UserError, match="published no picture of this example"):
        regression_main(chain)


def test_example_4_is_example_3_paired_with_the_published_food_samples(ppgn_environment, run_ppgn_example, tmp_path):
    run_ppgn_example("4_hidden_conditional_sampling_placesCNN.sh", "3", tmp_path, ppgn_environment,
                     N_ITERS="5", XY="2", THRESHOLD="-1")
    chain = tmp_path / "output" / "conv5_chain_3_eps1_1e-7_eps3_1e-17" / "chain_3_hx_1e-7_noise_1e-17__0.jpg"
    published = manifest_of(chain)["published"]
    assert published["image"] == "ppgn/hidden_food.jpg" and published["layout"] == "any"


# The size of the images in the published pictures' cells (montage's
# 1-pixel border around each): samples, receptive-field crops, inpainting pairs.
PUBLISHED_PANELS = {1: (227, 227), 3: (163, 163), 4: (163, 163), 5: (227, 227), 6: (227, 227), 7: (227, 455)}


@pytest.mark.parametrize("example", sorted(manifests.PUBLISHED_PPGN))
def test_published_layouts_find_the_real_published_panels(example, tmp_path, shared_path):
    """Cut the first row and the last cell out of the real published picture
    as 'our' panels (in reverse for a random pick): each is found again."""
    entry = manifests.published_ppgn(example)
    published = shared_path("reference", entry["image"].replace("/", "/examples/", 1))
    picture = imread(published)[..., :3]
    (h, w), (columns, rows) = PUBLISHED_PANELS[example], entry["tile"]
    files = []
    for index in list(range(columns)) + [columns * rows - 1]:
        row, column = divmod(index, columns)
        files.append(str(tmp_path / f"{index:05d}.png"))
        top, left = row * (h + 2) + 1, column * (w + 2) + 1
        imsave(files[-1], picture[top:top + h, left:left + w])
    if entry["layout"] == "grid":
        files = files[:-1]  # cell i of ours is cell i of theirs: the first row
    else:
        files.reverse()
    ours = str(tmp_path / "ours.jpg")
    manifests.save_manifest(ours, {"tile": [len(files), 1], "published": entry, "layer": None,
                                   "panel_size": [h, w], "panel_offset": [0, 0],
                                   "panels": [{"file": path, "unit": None} for path in files]})
    scores = scoring.compare(ours, str(published), str(tmp_path / "vs.jpg"))
    assert [score.ssim for score in scores] == pytest.approx([1.0] * len(files))
