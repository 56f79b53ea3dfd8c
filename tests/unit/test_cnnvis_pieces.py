"""The pieces of cnn_vis.py that need no net: tiling, sizes, regularisers,
the RMSProp step, objectives and image conversions."""
import itertools

import numpy as np
import pytest

from cnnvis import gradients, pixels, regularisers, tiling
from cnnvis.output import PixelHistory


def finite_difference_gradient(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        grad[index] = (f(up) - f(down)) / (2 * eps)
    return grad


# Tiling

@pytest.mark.parametrize("total,region", [(27, 27), (28, 27), (40, 27), (210, 27), (240, 27),
                                          (224, 224), (270, 224), (480, 224), (1080, 224), (57, 5)])
def test_tiling_covers_every_pixel_once_twice_or_four_times(total, region):
    size = (total, total + 13)
    even, odd = tiling.get_regions(size, (region, region))
    for y0, y1, x0, x1 in even + odd:
        assert (y1 - y0, x1 - x0) == (region, region)
        assert 0 <= y0 and y1 <= size[0] and 0 <= x0 and x1 <= size[1]
    counts = tiling.count_regions_per_pixel(size, even + odd)
    assert counts.min() >= 1, "a pixel is left out"
    assert set(np.unique(counts)) <= {1, 2, 4}
    assert len(set(even + odd)) == len(even) + len(odd)


def overlap(a, b):
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def test_regions_of_one_set_meet_only_at_diagonal_corners():
    even, odd = tiling.get_regions((300, 250), (27, 27))
    for regions in (even, odd):
        for a, b in itertools.combinations(regions, 2):
            if overlap(a, b):
                assert a[:2] != b[:2] and a[2:] != b[2:]


def test_one_region_when_the_image_is_the_input_size():
    assert tiling.get_regions((27, 27), (27, 27)) == ([(0, 27, 0, 27)], [])


def test_check_ranges_rejects_gaps_repeats_and_triple_overlaps():
    assert tiling.check_ranges(10, [(0, 5), (5, 10)])
    assert not tiling.check_ranges(10, [(0, 4), (5, 9)])  # does not reach the end
    assert not tiling.check_ranges(11, [(0, 5), (6, 11)])  # pixel 5 left out
    assert not tiling.check_ranges(5, [(0, 5), (0, 5)])
    assert not tiling.check_ranges(12, [(0, 6), (3, 9), (5, 11), (6, 12)])


def test_tile_starts_round_halves_to_even_as_the_goldens_do():
    # 240 pixels, windows of 27: the fifth start is 106.5 (Python 2 would say 107)
    assert [start for start, _ in tiling.get_best_ranges(240, 27)] == [0, 27, 53, 80, 106, 133, 160, 186, 213]


# Sizes

def test_size_flags_in_pixels_and_as_multiples_of_the_base():
    assert tiling.parse_size(None, (224, 224)) == (224, 224)
    assert tiling.parse_size('270x480', (224, 224)) == (270, 480)
    assert tiling.parse_size('x0.5', (1001, 600)) == (500, 300)


def test_size_sequences_geometric_and_linear():
    assert tiling.get_size_sequence((27, 27), '270x480', '1080x1920', 5, 'geometric') == [
        (270, 480), (382, 679), (540, 960), (764, 1358), (1080, 1920)]
    assert tiling.get_size_sequence((27, 27), '100x100', '200x300', 3, 'linear') == [
        (100, 100), (150, 200), (200, 300)]
    assert tiling.get_size_sequence((27, 27), None, '90x90', 1, 'linear') == [(27, 27)]


# Regularisers and the step

def test_p_norm_gradient_matches_finite_differences():
    x = np.random.RandomState(0).randn(1, 3, 4, 5) * 3
    loss, grad = regularisers.p_norm(x, p=6.0, scale=2.0)
    assert loss == pytest.approx((np.abs(x / 2.0) ** 6).sum())
    numeric = finite_difference_gradient(lambda v: regularisers.p_norm(v, p=6.0, scale=2.0)[0], x)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("beta", [2.0, 2.5])
def test_naive_tv_norm_gradient_matches_finite_differences(beta):
    x = np.random.RandomState(1).randn(1, 3, 6, 7) * 5
    loss, grad = regularisers.tv_norm(x, beta=beta, operator='naive')
    numeric = finite_difference_gradient(lambda v: regularisers.tv_norm(v, beta=beta, operator='naive')[0], x)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("operator", ['naive', 'sobel', 'sobel_squish'])
def test_tv_norm_is_small_on_flat_images_and_penalises_edges(operator):
    flat = np.full((1, 3, 8, 8), 7.0)
    edge = flat.copy()
    edge[:, :, :, 4:] += 10
    flat_loss, flat_grad = regularisers.tv_norm(flat, beta=2.0, operator=operator)
    edge_loss, edge_grad = regularisers.tv_norm(edge, beta=2.0, operator=operator)
    border = 1 if operator == 'naive' else 2
    # Flat: every squared difference is clamped to 1e-3, and nothing moves.
    assert flat_loss == pytest.approx(3 * (8 - border) ** 2 * 1e-3)
    assert not flat_grad.any()
    assert edge_loss > 100 * flat_loss
    assert np.abs(edge_grad).max() > 0 and edge_grad.shape == edge.shape


def test_tv_operators_differ():
    x = np.random.RandomState(2).randn(1, 3, 8, 8)
    grads = [regularisers.tv_norm(x, operator=op)[1] for op in ('naive', 'sobel', 'sobel_squish')]
    assert not np.allclose(grads[0], grads[1]) and not np.allclose(grads[1], grads[2])
    with pytest.raises(ValueError, match='operator'):
        regularisers.tv_norm(x, operator='prewitt')


def test_scaled_tv_norm_is_the_tv_norm_of_the_scaled_image():
    x = np.random.RandomState(3).randn(1, 3, 5, 5)
    loss, grad = regularisers.scaled_tv_norm(x, 4.0, 2.5, 'naive')
    loss_of_scaled, grad_of_scaled = regularisers.tv_norm(x / 4.0, beta=2.5)
    assert loss == loss_of_scaled
    np.testing.assert_array_equal(grad, grad_of_scaled / 4.0)


def test_rmsprop_normalises_the_step_and_keeps_a_running_cache():
    dx = np.array([4.0, -0.5, 0.0])
    step, cache = gradients.rmsprop(dx, decay_rate=0.75)
    np.testing.assert_allclose(cache, 0.25 * dx ** 2)
    np.testing.assert_allclose(step, [-2.0, 2.0, 0.0], atol=1e-6)
    step2, cache2 = gradients.rmsprop(dx, cache=cache, decay_rate=0.75)
    np.testing.assert_allclose(cache2, 0.75 * cache + 0.25 * dx ** 2)


# Objectives

class FakeBlob:
    def __init__(self, data):
        self.data = data.astype(np.float32)
        self.diff = np.full_like(self.data, 99.0)


def test_amplify_layer_pushes_every_activation_further_out():
    blob = FakeBlob(np.array([[-8.0, -1.0, 0.0, 2.0, 10.0]]))
    gradients.amplify_layer(l1_weight=1.0, l2_weight=0.5, grad_clip=5.0)(blob)
    np.testing.assert_array_equal(blob.diff, [[-8 + 2.5, -1 + 0.5, 0, -2 - 1, -10 - 2.5]])


def test_amplify_neuron_sets_one_channel():
    blob = FakeBlob(np.ones((2, 4, 3, 3)))
    gradients.amplify_neuron(2)(blob)
    assert (blob.diff[:, 2] == -1).all()
    assert (np.delete(blob.diff, 2, axis=1) == 0).all()


# Images

def test_uint_to_img_and_back_without_a_mean_is_the_identity():
    picture = np.random.RandomState(4).randint(0, 256, (5, 7, 3)).astype(np.uint8)
    img = pixels.uint_to_img(picture)
    assert img.shape == (1, 3, 5, 7) and img.dtype == np.float64
    np.testing.assert_array_equal(img[0, 0], picture[:, :, 2])  # BGR
    np.testing.assert_array_equal(pixels.img_to_uint(img), picture)


def test_img_to_uint_puts_the_mean_colour_back_clips_or_rescales():
    mean = np.full((3, 4, 4), 100.0)
    img = np.zeros((1, 3, 2, 2))
    img[0, :, 0, 0] = 200.0
    picture = pixels.img_to_uint(img, mean)
    assert picture[1, 1].tolist() == [100, 100, 100] and picture[0, 0].tolist() == [255, 255, 255]
    rescaled = pixels.img_to_uint(img, mean, rescale=True)
    assert rescaled[1, 1].tolist() == [0, 0, 0] and rescaled[0, 0].tolist() == [255, 255, 255]


def test_noise_image_follows_the_seed_and_the_blur_smooths_it():
    mean = np.full((3, 8, 8), 120.0)
    np.random.seed(5)
    first = pixels.noise_image(3, (30, 40), mean, 10.0, 0.0)
    np.random.seed(5)
    again = pixels.noise_image(3, (30, 40), mean, 10.0, 0.0)
    np.random.seed(5)
    blurred = pixels.noise_image(3, (30, 40), mean, 10.0, 2.0)
    assert first.shape == (1, 3, 30, 40)
    np.testing.assert_array_equal(first, again)
    assert blurred.std() < first.std() / 2


def test_resize_img_gives_the_new_size():
    img = pixels.uint_to_img(np.random.RandomState(6).randint(0, 256, (20, 30, 3)).astype(np.uint8))
    assert pixels.resize_img(img, (25, 35)).shape == (1, 3, 25, 35)


def test_pixel_history_traces_only_pixels_inside_small_images():
    assert PixelHistory((1, 3, 60, 60)).pixels == []
    history = PixelHistory((1, 3, 150, 250))
    assert history.pixels == [(100, 100), (100, 200)]
    history.record(np.zeros((1, 3, 150, 250)))
    assert len(history.history) == 6
