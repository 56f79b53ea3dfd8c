"""A run whose code or image stops being finite on its own, mid-way, stops
with one line naming the step before Caffe sees it (a NaN there corrupts
Caffe's memory), and saves no result: an earlier run's result stays as it was.

Each run is made to diverge by a finite but huge step: a learning rate that
grows along its schedule until the float32 code or image overflows."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

caffe = pytest.importorskip("caffe", reason="pycaffe is not importable (run make setup)")

from cnnpref import prefer_img_dgn_gd, prefer_img_gd, prefer_img_lbfgs  # noqa: E402
from prefinput.errors import NotFinite  # noqa: E402
from prefinput.steps import Diverged, check_finite  # noqa: E402

EARLIER = b"an earlier run's result"


def run_program(repo, tmp_path, *argv):
    env = dict(os.environ, PREFINPUT_OFFLINE="1", OPENBLAS_NUM_THREADS="1", GLOG_minloglevel="2")
    return subprocess.run([sys.executable, str(repo / argv[0]), *argv[1:]], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


def diverged_step(done):
    """The step the last stderr line names (numpy's overflow warnings may come before it)."""
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr
    match = re.fullmatch(r"\S+: error: diverged at step (\d+): the (code|image) is no longer finite; try a "
                         r"smaller \S+.*", done.stderr.splitlines()[-1])
    assert match, done.stderr
    return int(match.group(1))


def test_check_finite_refuses_nan_infinity_and_float64_beyond_float32():
    check_finite(np.float32([0, -3.4e38, 3.4e38]), "code", 3, "hint")
    for value in (np.nan, np.inf, -np.inf, 1e39):
        with pytest.raises(Diverged, match=r"^diverged at step 3: the code is no longer finite; hint$"):
            check_finite(np.array([1.0, value]), "code", 3, "hint")


def test_act_max_stops_mid_way_and_keeps_the_earlier_image(tiny, repo, tmp_path):
    nets = ["--net_definition", tiny["classifier"][0], "--net_weights", tiny["classifier"][1],
            "--generator_definition", tiny["generator"][0], "--generator_weights", tiny["generator"][1]]
    earlier = tmp_path / "fc8_0001_10_1.0_2.0__0.jpg"  # the name this run would write
    earlier.write_bytes(EARLIER)
    # the rate goes from 2 towards 1e39: 1e38 at step 1, beyond float32 once it moves the image
    done = run_program(repo, tmp_path, "act_max.py", *nets, "--unit", "1", "--n_iters", "10", "--start_lr", "2",
                       "--end_lr", "1e39", "--output_dir", str(tmp_path))
    assert 1 <= diverged_step(done) < 10
    assert "Saved to" not in done.stdout
    assert earlier.read_bytes() == EARLIER
    assert sorted(os.listdir(tmp_path)) == [earlier.name]


def test_sampling_class_stops_and_writes_no_final_image(tiny, shared_path, repo, tmp_path):
    nets = ["--net_definition", tiny["classifier"][0], "--net_weights", tiny["classifier"][1],
            "--generator_definition", tiny["generator"][0], "--generator_weights", tiny["generator"][1],
            "--encoder_definition", tiny["classifier"][0], "--encoder_weights", tiny["classifier"][1]]
    misc = ("reference", "ppgn", "misc")
    # the code is clipped to [0, 30], but 1e308 times the prior term is infinite and its step NaN
    done = run_program(repo, tmp_path, "sampling_class.py", *nets, "--units", "1", "--n_iters", "5",
                       "--epsilon1", "1e308", "--synset_file", str(shared_path(*misc, "synset_words.txt")),
                       "--mean_file_mat", str(shared_path(*misc, "ilsvrc_2012_mean.mat")),
                       "--output_dir", str(tmp_path))
    assert 1 <= diverged_step(done) <= 5
    assert not list(tmp_path.glob("*.jpg")), "a final image was saved"


def test_cnn_vis_stops_mid_way_and_keeps_the_earlier_image(tiny, shared_path, repo, tmp_path):
    earlier = tmp_path / "vis.png"
    earlier.write_bytes(EARLIER)
    # the rate is multiplied by 1e12 after every step
    done = run_program(repo, tmp_path, "cnn_vis.py", "--deploy_txt", tiny["classifier"][0],
                       "--caffe_model", tiny["classifier"][1], "--gpu", "-1",
                       "--mean_image", str(shared_path("reference", "cnnpref", "data", "ilsvrc_2012_mean.npy")),
                       "--target_layer", "conv3", "--initial_size", "210x210", "--num_steps", "10",
                       "--output_iter", "100", "--learning_rate_decay_iter", "1",
                       "--learning_rate_decay_fraction", "1e12", "--output_file", str(earlier))
    assert 2 <= diverged_step(done) < 10
    assert earlier.read_bytes() == EARLIER
    assert sorted(os.listdir(tmp_path)) == [earlier.name]


@pytest.fixture
def cnn(tiny):
    caffe.set_mode_cpu()
    net = caffe.Classifier(*tiny["classifier"], mean=np.float32([104, 117, 123]), channel_swap=(2, 1, 0))
    mask = np.zeros(net.blobs["fc8"].data.shape[1:])
    mask[1] = 1
    return net, mask


def test_cnnpref_gd_stops_mid_way(cnn):
    net, mask = cnn
    np.random.seed(0)
    with pytest.raises(Diverged, match=r"^diverged at step (\d+): the image is no longer finite; try a smaller "
                                       r"lr_start") as stop:
        prefer_img_gd.generate_image(net, "fc8", mask, iter_n=20, lr_start=2., lr_end=1e40, disp_every=100)
    assert 2 <= int(re.search(r"step (\d+)", str(stop.value)).group(1)) <= 20


def test_cnnpref_dgn_gd_stops_mid_way(cnn, tiny):
    net, mask = cnn
    generator = caffe.Net(*tiny["generator"], caffe.TEST)
    np.random.seed(0)
    with pytest.raises(Diverged, match=r"^diverged at step (\d+): the (code|image) is no longer finite") as stop:
        prefer_img_dgn_gd.generate_image(generator, net, "fc8", mask, iter_n=20, lr_start=2., lr_end=1e40,
                                         feat_upper_bound=None, input_layer_gen="feat",
                                         output_layer_gen="deconv0", disp_every=100)
    assert 2 <= int(re.search(r"step (\d+)", str(stop.value)).group(1)) <= 20


@pytest.mark.parametrize("argument, value", [("lr_start", np.nan), ("decay_end", np.inf),
                                             ("initial_image", np.full((4, 4, 3), np.nan))])
def test_cnnpref_refuses_non_finite_arguments_before_caffe(cnn, argument, value, monkeypatch):
    net, mask = cnn
    monkeypatch.setattr(net, "forward", lambda *a, **k: pytest.fail("Caffe ran"))
    with pytest.raises(NotFinite, match=rf"^{argument} .*: expected a finite number$") as stop:
        prefer_img_gd.generate_image(net, "fc8", mask, iter_n=2, **{argument: value})
    assert isinstance(stop.value, ValueError)


def test_cnnpref_lbfgs_refuses_a_non_finite_weight(cnn):
    net, mask = cnn
    with pytest.raises(NotFinite, match=r"^feature_weight -inf: expected a finite number$"):
        prefer_img_lbfgs.generate_image(net, "fc8", mask, feature_weight=-np.inf, maxiter=2)


def test_cnnpref_lbfgs_stops_at_a_non_finite_point(cnn, monkeypatch):
    """L-BFGS-B proposes a NaN point once the loss is not finite: stand in for
    it with a minimiser that does so at its second evaluation."""
    from cnnpref import _common
    net, mask = cnn
    forwards = []
    real_forward = net.forward
    monkeypatch.setattr(net, "forward", lambda *a, **k: forwards.append(1) or real_forward(*a, **k))

    def minimize(fun, x0, **options):
        fun(x0)
        fun(np.full_like(x0, np.nan))
    monkeypatch.setattr(_common, "minimize", minimize)
    with pytest.raises(Diverged, match=r"^diverged at step 1: the L-BFGS-B point is no longer finite"):
        prefer_img_lbfgs.generate_image(net, "fc8", mask, maxiter=2)
    assert len(forwards) == 1, "Caffe saw the NaN point"
