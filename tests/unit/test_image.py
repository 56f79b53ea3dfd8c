"""prefinput.image keeps scipy.misc's (SciPy <= 1.1) arithmetic: checked on
small arrays worked out by hand."""
import numpy as np
import pytest
from PIL import Image

from prefinput.image import bytescale, imread, imresize, imsave, toimage


def test_bytescale_stretches_own_min_max_and_rounds_half_up():
    assert bytescale(np.array([0.0, 1.0, 2.0])).tolist() == [0, 128, 255]
    assert bytescale(np.array([-120.0, 0.0, 120.0])).tolist() == [0, 128, 255]


def test_bytescale_with_given_range_clips():
    assert bytescale(np.array([-1.0, 0.5, 3.0]), cmin=0, cmax=1).tolist() == [0, 128, 255]


def test_bytescale_of_constant_array_is_low_not_nan():
    assert bytescale(np.full(3, 5.0)).tolist() == [0, 0, 0]


def test_bytescale_leaves_uint8_alone():
    data = np.array([3, 7, 200], dtype=np.uint8)
    assert bytescale(data) is data


def test_imsave_stretches_float_image_even_after_clipping(tmp_path):
    path = tmp_path / "grey.png"
    imsave(path, np.array([[0.2, 0.4], [0.6, 0.6]]))
    assert imread(path).tolist() == [[0, 128], [255, 255]]


def test_imsave_rgb_channels_last_round_trip(tmp_path):
    pixels = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10
    imsave(tmp_path / "rgb.png", pixels)
    assert np.array_equal(imread(tmp_path / "rgb.png"), pixels)


def test_toimage_finds_channel_axis_first_of_length_three():
    planar = np.zeros((3, 2, 5), dtype=np.uint8)
    planar[0] = 255  # red plane
    image = toimage(planar)
    assert image.size == (5, 2) and image.getpixel((0, 0)) == (255, 0, 0)


def test_imresize_takes_height_width_and_matches_pillow_bilinear():
    pixels = (np.arange(4 * 6 * 3) * 3 % 256).astype(np.uint8).reshape(4, 6, 3)
    resized = imresize(pixels, (3, 5))
    expected = np.array(Image.fromarray(pixels).resize((5, 3), Image.BILINEAR))
    assert resized.shape == (3, 5, 3) and np.array_equal(resized, expected)


def test_imresize_nearest_doubles_by_hand():
    grey = np.array([[0, 255]], dtype=np.uint8)
    assert imresize(grey, (2, 4), interp="nearest").tolist() == [[0, 0, 255, 255]] * 2


def test_imresize_int_is_percent_and_float_is_scale():
    grey = np.zeros((4, 8), dtype=np.uint8)
    assert imresize(grey, 50).shape == (2, 4)
    assert imresize(grey, 1.5).shape == (6, 12)


def test_imresize_bytescales_float_input_first():
    assert imresize(np.array([[1.0, 3.0]]), (1, 2), interp="nearest").tolist() == [[0, 255]]


def test_failed_imsave_leaves_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.unknownformat"
    path.write_bytes(b"old")
    with pytest.raises(ValueError):
        imsave(path, np.zeros((2, 2)))
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.unknownformat"]


def test_imread_refuses_a_decompression_bomb_in_one_line_naming_it(bomb_png):
    from prefinput.errors import UserError
    with pytest.raises(UserError, match=r"^--init_file \S*bomb\.png: over 89478485 pixels, more than Pillow decodes "
                                        r"safely \(a decompression bomb\?\); give a smaller picture$"):
        imread(bomb_png, "--init_file")


@pytest.mark.parametrize("damage", [lambda data: data[:len(data) // 2], lambda data: data[:60] + bytes(len(data) - 60)],
                         ids=["truncated", "zeroed"])
@pytest.mark.parametrize("extension", ["png", "jpg", "tif"])
def test_imread_names_a_damaged_file_in_one_line(tmp_path, damage, extension):
    from prefinput.errors import UserError
    path = tmp_path / f"damaged.{extension}"
    Image.fromarray((np.arange(40 * 50 * 3) % 251).astype(np.uint8).reshape(40, 50, 3)).save(path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(UserError, match=rf"^the picture \S*damaged\.{extension}: not an image Pillow can read"):
        imread(path, "the picture")
