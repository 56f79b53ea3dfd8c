"""prefinput.collage: labels, crops and montages through Wand."""
import os

import numpy as np
import pytest

from prefinput import collage
from prefinput.image import imread, imsave


def picture(height, width, seed=0):
    """A random RGB image with no white pixel (so trims stop at it)."""
    return np.random.RandomState(seed).randint(0, 200, (height, width, 3)).astype(np.uint8)


def test_label_below_keeps_the_image_and_adds_a_gap_and_the_text(tmp_path):
    image = picture(40, 200)
    out = collage.label_below(image, "bell pepper", out=str(tmp_path / "a.png"))
    labelled = imread(out)
    assert labelled.shape[1] == 200  # the text is narrower than the image
    assert np.array_equal(labelled[:40], image)
    assert (labelled[40:50] == 255).all()  # the 10-row white gap
    text = labelled[50:]
    assert 20 < text.shape[0] < 60 and text.min() < 100  # a 30-point line with dark glyphs


def test_label_below_centres_the_narrower_image_and_rewrites_a_file_in_place(tmp_path):
    path = str(tmp_path / "small.png")
    imsave(path, picture(10, 11))
    assert collage.label_below(path, "a wide label") == path
    labelled = imread(path)
    left = (labelled.shape[1] - 11) // 2
    assert labelled.shape[1] > 11
    assert np.array_equal(labelled[:10, left:left + 11], picture(10, 11))
    assert (labelled[:10, :left] == 255).all()
    assert os.listdir(tmp_path) == ["small.png"]  # no temporary left behind


@pytest.mark.parametrize("text", ["100%", "@/etc/passwd", "a 'quoted' $(word)"])
def test_label_text_is_drawn_literally(tmp_path, text):
    plain = imread(collage.label_below(picture(5, 5), "x", out=str(tmp_path / "x.png")))
    odd = imread(collage.label_below(picture(5, 5), text, out=str(tmp_path / "odd.png")))
    assert odd.shape[1] > plain.shape[1]  # rendered as text, not read as a file or escape


def test_label_below_needs_out_for_an_array():
    with pytest.raises(ValueError):
        collage.label_below(picture(5, 5), "x")


def test_crop_cuts_the_region_and_clips_it_to_the_image(tmp_path):
    path = str(tmp_path / "c.png")
    image = picture(30, 40)
    imsave(path, image)
    collage.crop(path, 10, 12, 5, 7)
    assert np.array_equal(imread(path), image[7:19, 5:15])
    collage.crop(path, 100, 100, 4, 2, out=str(tmp_path / "d.png"))
    assert np.array_equal(imread(str(tmp_path / "d.png")), image[7:19, 5:15][2:, 4:])


def test_montage_tiles_with_a_border_and_trims_the_white_edges(tmp_path):
    images = [picture(10, 20, seed) for seed in range(3)]
    out = collage.montage(images, str(tmp_path / "m.png"), tile=(3, 1), border=1)
    sheet = imread(out)
    # 3 cells of 22x12; the trim takes the outer white pixel off every side
    assert sheet.shape == (10, 64, 3)
    for i, image in enumerate(images):
        assert np.array_equal(sheet[:, 22 * i:22 * i + 20], image)
    assert (sheet[:, 20:22] == 255).all()


def test_montage_leaves_empty_cells_white_for_the_trim(tmp_path):
    paths = []
    for seed in range(2):
        paths.append(str(tmp_path / f"{seed}.png"))
        imsave(paths[-1], picture(10, 20, seed))
    untrimmed = imread(collage.montage(paths, str(tmp_path / "u.png"), tile=(5, 2), trim=False))
    trimmed = imread(collage.montage(paths, str(tmp_path / "t.png"), tile=(5, 2)))
    assert untrimmed.shape[1] == 5 * 22 and untrimmed.shape[0] < 2 * 12  # 5 columns, the rows in use
    assert trimmed.shape == (10, 42, 3)
