"""cnnpref.utils and the schedules: layouts, regularisers against finite
differences, the clipping rules, feature and receptive-field masks."""
import numpy as np
import pytest

from cnnpref import utils
from cnnpref._common import py2_div, schedule

MEAN = np.float32([104, 117, 123])


def test_preprocess_makes_caffe_layout_and_deprocess_inverts_it():
    rgb = np.random.RandomState(0).randint(0, 256, (4, 5, 3))
    caffe_img = utils.img_preprocess(rgb, MEAN)
    assert caffe_img.shape == (3, 4, 5) and caffe_img.dtype == np.float32
    assert np.array_equal(caffe_img[0], rgb[:, :, 2] - 104.)  # blue first, mean removed
    assert np.array_equal(caffe_img[2], rgb[:, :, 0] - 123.)
    assert np.array_equal(utils.img_deprocess(caffe_img, MEAN), rgb)


def test_normalise_img_stretches_to_0_255():
    img = utils.normalise_img(np.array([[-2.0, 0.0], [1.0, 2.0]]))
    assert img.dtype == np.uint8 and img.tolist() == [[0, 127], [191, 255]]
    assert utils.normalise_img(np.full((2, 2), 7.0)).tolist() == [[0, 0], [0, 0]]


def numerical_gradient(loss, x, eps=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        grad[index] = (loss(x + step) - loss(x - step)) / (2 * eps)
    return grad


@pytest.mark.parametrize("p", [2, 3, 1.5])
def test_p_norm_loss_and_gradient(p):
    x = np.random.RandomState(1).uniform(-2, 2, (3, 4, 4))
    loss, grad = utils.p_norm(x, p)
    assert loss == pytest.approx(np.sum(np.abs(x) ** p))
    assert np.allclose(grad, numerical_gradient(lambda y: utils.p_norm(y, p)[0], x), atol=1e-5)


@pytest.mark.parametrize("beta", [2, 1, 3])
def test_tv_norm_gradient_matches_finite_differences(beta):
    x = np.random.RandomState(2).uniform(-2, 2, (3, 5, 6))
    _, grad = utils.TV_norm(x, beta)
    assert np.allclose(grad, numerical_gradient(lambda y: utils.TV_norm(y, beta)[0], x), atol=1e-4)


def test_tv_norm_loss_by_hand():
    x = np.zeros((1, 2, 2))
    x[0, 0, 0] = 3.  # differences: right -3 at (0,0)... down -3 at (0,0); the last row/column count 0
    loss, _ = utils.TV_norm(x, 2)
    assert loss == pytest.approx(9 + 9)
    assert utils.TV_norm(x, 1)[0] == pytest.approx(np.sqrt(18))


def test_gaussian_blur_smooths_each_channel_alone():
    img = np.zeros((3, 9, 9), dtype=np.float32)
    img[1, 4, 4] = 1.
    blurred = utils.gaussian_blur(img.copy(), 1.)
    assert blurred[0].max() == 0 and blurred[2].max() == 0
    assert 0 < blurred[1, 4, 4] < 1 and blurred[1, 4, 5] > 0
    assert np.array_equal(utils.gaussian_blur(img.copy(), 0), img)


def test_clip_extreme_pixel_clips_to_the_images_percentiles():
    img = np.arange(101, dtype=np.float64).reshape(1, 1, 101)
    clipped = utils.clip_extreme_pixel(img, pct=10)
    assert clipped.min() == 5 and clipped.max() == 95
    assert np.array_equal(utils.clip_extreme_pixel(img, pct=-3), img)  # below 0: 0%
    assert np.all(utils.clip_extreme_pixel(img, pct=300) == 50)  # above 100: 100%


def test_clip_small_norm_pixel_zeroes_the_weakest_pixels():
    img = np.ones((3, 1, 10)) * np.arange(1, 11)  # pixel norms grow left to right
    clipped = utils.clip_small_norm_pixel(img.copy(), pct=30)
    assert np.all(clipped[:, 0, :3] == 0) and np.array_equal(clipped[:, 0, 3:], img[:, 0, 3:])


def test_clip_small_contribution_pixel_ranks_by_image_times_gradient():
    img = np.ones((3, 1, 10))
    grad = np.ones((3, 1, 10)) * np.arange(10, 0, -1)  # the contribution falls left to right
    clipped = utils.clip_small_contribution_pixel(img.copy(), grad, pct=30)
    assert np.all(clipped[:, 0, 7:] == 0) and np.all(clipped[:, 0, :7] == 1)


def test_feature_masks_of_each_kind():
    features = {"conv": np.zeros((4, 5, 5)), "fc": np.zeros(6), "other": np.zeros((2, 3, 3))}
    mask3 = np.random.RandomState(3).randint(0, 2, (4, 5, 5))
    mask1 = np.array([0, 1, 0, 0, 1, 0])
    masks = utils.create_feature_masks(features, masks={"conv": mask3, "fc": mask1})
    assert masks["conv"] is mask3 and masks["fc"] is mask1
    assert np.array_equal(masks["other"], np.ones((2, 3, 3)))  # neither: every unit

    by_channel = utils.create_feature_masks(features, channels={"conv": np.array([1, 3])})["conv"]
    assert by_channel[[1, 3]].min() == 1 and by_channel[[0, 2]].max() == 0

    assert utils.create_feature_masks(features, masks={"conv": np.ones((2, 2, 2))})["conv"] == 0  # fits none


def test_2d_feature_mask_is_centred_cropped_or_padded_for_every_channel():
    features = {"conv": np.zeros((2, 5, 5))}
    small = np.zeros((3, 3))
    padded = utils.create_feature_masks(features, masks={"conv": small})["conv"]
    assert padded.shape == (2, 5, 5)
    assert np.all(padded[:, 1:4, 1:4] == 0) and padded.sum() == 2 * (25 - 9)
    large = np.zeros((7, 7))
    large[1:6, 1:6] = 1
    large[3, 3] = 0
    cropped = utils.create_feature_masks(features, masks={"conv": large})["conv"]
    assert np.array_equal(cropped[0], large[1:6, 1:6]) and np.array_equal(cropped[1], cropped[0])


def test_estimate_cnn_feat_std():
    conv = np.stack([np.zeros((2, 2)), np.array([[0., 2.], [0., 2.]])])
    assert utils.estimate_cnn_feat_std(conv) == pytest.approx(0.5)  # mean of the channels' stds 0 and 1
    assert utils.estimate_cnn_feat_std(np.array([1., 3.])) == pytest.approx(1.)
    with pytest.raises(ValueError):
        utils.estimate_cnn_feat_std(np.zeros((2, 2, 2, 2)))


def test_schedules_divide_like_python_2():
    assert py2_div(7, 2) == 3 and py2_div(-7, 2) == -4 and py2_div(np.int64(7), 2) == 3
    assert py2_div(7., 2) == 3.5
    assert schedule(5, 1, 3, 10) == 5 + (-12) // 10  # ints: 4, as Python 2 gave
    assert schedule(2., 1e-10, 50, 200) == 2. + 50 * (1e-10 - 2.) / 200


@pytest.fixture
def tiny_net(tiny):
    caffe = pytest.importorskip("caffe", reason="pycaffe is not importable: build Caffe first (make setup)")
    caffe.set_mode_cpu()
    return caffe.Classifier(*tiny["classifier"], mean=MEAN, channel_swap=(2, 1, 0))


def test_receptive_field_of_a_conv1_unit_is_its_kernel_window(tiny_net):
    mask = np.zeros(tiny_net.blobs["conv1"].data.shape[1:])  # 8 x 12 x 12: kernel 5, stride 2
    mask[2, 6, 3] = 1
    img_mask = utils.create_receptive_field_mask(tiny_net, "conv1", mask)
    assert img_mask.shape == (27, 27, 3) and img_mask.dtype == np.uint8
    rows, cols = np.nonzero(img_mask[:, :, 0])
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (12, 16, 6, 10)
    assert np.array_equal(img_mask[:, :, 0], img_mask[:, :, 2])


def test_receptive_field_of_an_fc_unit_is_the_whole_image(tiny_net):
    mask = np.zeros(10)
    mask[3] = 1
    assert np.all(utils.create_receptive_field_mask(tiny_net, "fc8", mask) == 1)


def test_get_cnn_features_and_sort_layer_list(tiny_net):
    img = np.random.RandomState(4).randint(0, 256, (27, 27, 3))
    features = utils.get_cnn_features(tiny_net, img, ["fc8", "conv1"])
    assert features["fc8"].shape == (10,) and features["conv1"].shape == (8, 12, 12)
    assert utils.sort_layer_list(tiny_net, ["fc8", "conv1", "pool5"]) == ["conv1", "pool5", "fc8"]
