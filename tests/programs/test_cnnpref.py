"""cnnpref's four generate_image variants on the tiny nets: the goldens of the
original programs bit for bit, and what each regulariser, clipping rule and
option does to the result."""
import importlib

import numpy as np
import pytest

caffe = pytest.importorskip("caffe", reason="pycaffe is not importable: build Caffe first (make setup)")

from cnnpref import prefer_img_dgn_gd, prefer_img_dgn_lbfgs, prefer_img_gd, prefer_img_lbfgs  # noqa: E402
from cnnpref.utils import get_cnn_features  # noqa: E402

GOLDEN_MEAN = np.float32([104, 117, 123])


def classifier(tiny, mean):
    caffe.set_mode_cpu()
    prototxt, weights = tiny["classifier"]
    return caffe.Classifier(prototxt, weights, mean=mean, channel_swap=(2, 1, 0))


def generator_net(tiny):
    prototxt, weights = tiny["generator"]
    return caffe.Net(prototxt, weights, caffe.TEST)


def unit_mask(net, layer, unit, xy=None):
    """The goldens' feature mask: one unit of an fc layer, or [unit, xy, xy] of a conv layer."""
    mask = np.zeros(net.blobs[layer].data.shape[1:])
    mask[unit if xy is None else (unit, xy, xy)] = 1
    return mask


@pytest.mark.goldens("cnnpref_*.npz", fallback="cnnpref_*.npz (none found)")  # parametrizes `name` (conftest)
def test_golden_of_the_original(name, tiny, pinned_environment, load_golden):
    golden = load_golden(name)
    args = golden["args"]
    net = classifier(tiny, GOLDEN_MEAN)
    mask = unit_mask(net, args["layer"], args["unit"], args["xy"])
    variant = importlib.import_module("cnnpref.prefer_img_" + args["variant"])
    nets = (net,)
    kwargs = dict(args["kwargs"])
    if args["variant"].startswith("dgn_"):
        nets = (generator_net(tiny), net)
        kwargs.update(input_layer_gen="feat", output_layer_gen="deconv0")
    np.random.seed(args["seed"])
    image = variant.generate_image(*nets, args["layer"], mask, **kwargs)
    assert image.dtype == golden["image"].dtype
    assert np.array_equal(image, golden["image"])


# Below, a classifier without mean: the returned image is then exactly the
# optimised array (H x W x RGB), so exact properties of the last step show.

@pytest.fixture
def zero_mean_net(tiny):
    return classifier(tiny, np.float32([0, 0, 0]))


PLAIN_STEPS = dict(iter_n=8, image_jitter=False, image_blur=False, decay_start=0., decay_end=0., disp_every=100)


def gd(net, **options):
    np.random.seed(0)
    return prefer_img_gd.generate_image(net, "fc8", unit_mask(net, "fc8", 3), **{**PLAIN_STEPS, **options})


def total_variation(img):
    return np.abs(np.diff(img, axis=0)).sum() + np.abs(np.diff(img, axis=1)).sum()


def test_gd_p_norm_regularisation_shrinks_the_image(zero_mean_net):
    plain = gd(zero_mean_net)
    regularised = gd(zero_mean_net, use_p_norm_reg=True, p=3, lamda_start=5., lamda_end=5.)
    assert np.linalg.norm(regularised) < 0.9 * np.linalg.norm(plain)


def test_gd_tv_regularisation_smooths_the_image(zero_mean_net):
    plain = gd(zero_mean_net)
    regularised = gd(zero_mean_net, use_TV_norm_reg=True, TVbeta=2, TVlamda_start=5., TVlamda_end=5.)
    assert total_variation(regularised) < 0.9 * total_variation(plain)


def test_gd_clip_extreme_clips_to_the_images_percentiles(zero_mean_net):
    img = gd(zero_mean_net, clip_extreme=True, clip_extreme_every=1, e_pct_start=10, e_pct_end=10)
    at_least = int(0.05 * img.size) - 2  # 5% of the values at each end, less interpolation
    assert np.sum(img == img.max()) >= at_least
    assert np.sum(img == img.min()) >= at_least


def test_gd_clip_small_norm_zeroes_the_weakest_pixels(zero_mean_net):
    img = gd(zero_mean_net, clip_small_norm=True, clip_small_norm_every=1, n_pct_start=20., n_pct_end=20.)
    zero_pixels = np.all(img == 0, axis=2)
    assert zero_pixels.sum() >= int(0.2 * zero_pixels.size) - 1
    assert np.linalg.norm(img, axis=2)[~zero_pixels].min() > 0


def test_gd_clip_small_contribution_zeroes_pixels(zero_mean_net):
    img = gd(zero_mean_net, clip_small_contribution=True, clip_small_contribution_every=1,
             c_pct_start=20., c_pct_end=20.)
    assert np.all(img == 0, axis=2).sum() >= int(0.2 * 27 * 27) - 1
    assert not np.array_equal(img, gd(zero_mean_net))


def test_gd_clips_every_n_iterations_only(zero_mean_net):
    every_4 = gd(zero_mean_net, clip_small_norm=True, clip_small_norm_every=4, n_pct_start=20., n_pct_end=20.)
    every_3 = gd(zero_mean_net, clip_small_norm=True, clip_small_norm_every=3, n_pct_start=20., n_pct_end=20.)
    assert np.all(every_4 == 0, axis=2).sum() >= int(0.2 * 27 * 27) - 1  # clipped at step 8, the last
    assert np.all(every_3 == 0, axis=2).sum() < 0.02 * 27 * 27  # last clipped at step 6, moved since


def activation(net, img, unit):
    return get_cnn_features(net, img, ["fc8"])["fc8"][unit]


def start_image():
    return np.random.RandomState(1).randint(0, 256, (27, 27, 3)).astype(np.float32)


def test_lbfgs_raises_the_unit_and_keeps_pixels_in_range(zero_mean_net):
    net = zero_mean_net
    img = prefer_img_lbfgs.generate_image(net, "fc8", unit_mask(net, "fc8", 3), initial_image=start_image(),
                                          maxiter=5, disp=False)
    assert img.shape == (27, 27, 3)
    assert activation(net, img, 3) > activation(net, start_image(), 3)
    assert img.min() >= 0 and img.max() <= 255


def test_lbfgs_sums_several_target_units(zero_mean_net):
    net = zero_mean_net
    mask = unit_mask(net, "fc8", 3) + unit_mask(net, "fc8", 7)
    img = prefer_img_lbfgs.generate_image(net, "fc8", mask, initial_image=start_image(), maxiter=5, disp=False)
    raised = activation(net, img, 3) + activation(net, img, 7)
    assert raised > activation(net, start_image(), 3) + activation(net, start_image(), 7)


def test_lbfgs_disp_prints_each_iteration(zero_mean_net, capsys):
    net = zero_mean_net
    prefer_img_lbfgs.generate_image(net, "fc8", unit_mask(net, "fc8", 3), initial_image=start_image(),
                                    maxiter=3, disp=True)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(";")[0] for line in lines] == ["iter=1", "iter=2", "iter=3"]


def test_dgn_gd_raises_the_unit_and_respects_the_code_bounds(tiny, zero_mean_net):
    net, net_gen = zero_mean_net, generator_net(tiny)
    code = np.float32(np.random.RandomState(0).uniform(0, 5, 64))
    img = prefer_img_dgn_gd.generate_image(net_gen, net, "fc8", unit_mask(net, "fc8", 3), initial_gen_feat=code,
                                           feat_upper_bound=2., iter_n=10, disp_every=100,
                                           input_layer_gen="feat", output_layer_gen="deconv0")
    assert img.shape == (27, 27, 3)
    last_code = net_gen.blobs["feat"].data  # the last step's, clipped the step before
    assert last_code.min() >= 0. and last_code.max() <= 2. < code.max()
    start = prefer_img_dgn_gd.generate_image(net_gen, net, "fc8", unit_mask(net, "fc8", 3), initial_gen_feat=code,
                                             iter_n=1, disp_every=100)
    assert activation(net, img, 3) > activation(net, start, 3)


def test_dgn_variants_default_to_the_generators_first_and_last_blobs(tiny, zero_mean_net):
    net, net_gen = zero_mean_net, generator_net(tiny)
    mask = unit_mask(net, "fc8", 3)
    np.random.seed(0)
    named = prefer_img_dgn_lbfgs.generate_image(net_gen, net, "fc8", mask, maxiter=2, disp=False,
                                                input_layer_gen="feat", output_layer_gen="deconv0")
    np.random.seed(0)
    default = prefer_img_dgn_lbfgs.generate_image(net_gen, net, "fc8", mask, maxiter=2, disp=False)
    assert np.array_equal(named, default)


def test_intermediate_files(tiny, zero_mean_net, tmp_path):
    net = zero_mean_net
    mask = unit_mask(net, "fc8", 3)
    gd(net, iter_n=4, save_intermediate=True, save_intermediate_every=2, save_intermediate_path=str(tmp_path / "gd"))
    assert sorted(p.name for p in (tmp_path / "gd").iterdir()) == ["00002.jpg", "00004.jpg", "initial_image.jpg"]
    np.random.seed(0)
    prefer_img_dgn_gd.generate_image(generator_net(tiny), net, "fc8", mask, iter_n=2, disp_every=100,
                                     save_intermediate=True, save_intermediate_path=str(tmp_path / "dgn"))
    assert sorted(p.name for p in (tmp_path / "dgn").iterdir()) == [
        "00001.jpg", "00002.jpg", "initial_gen_feat.mat", "initial_img.jpg"]
