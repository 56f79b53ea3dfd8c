"""cnn_vis.py on the tiny classifier: the goldens through the command line,
then each mode, regulariser, schedule and output option."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from prefinput import cpu
from prefinput.errors import UserError
from prefinput.image import imread, imsave

caffe = pytest.importorskip("caffe", reason="pycaffe is not importable: run `make setup` first")
import cnn_vis  # noqa: E402  (needs caffe)

GOLDENS = ["cnnvis_amplify_layer.npz", "cnnvis_neuron_multiscale.npz"]
QUIET = {"GLOG_minloglevel": "2", "PREFINPUT_OFFLINE": "1"}


@pytest.fixture
def net_flags(tiny, shared_path):
    prototxt, weights = tiny["classifier"]
    mean = shared_path("reference", "cnnpref", "data", "ilsvrc_2012_mean.npy")
    return ["--deploy_txt", prototxt, "--caffe_model", weights, "--mean_image", str(mean), "--gpu", "-1"]


@pytest.fixture
def run(net_flags, tmp_path, monkeypatch):
    """Run cnn_vis.main in this process on the tiny net; return the --save_raw arrays."""
    for name, value in QUIET.items():
        monkeypatch.setenv(name, value)

    def run_cnn_vis(*argv, name="out.png"):
        output = tmp_path / name
        cnn_vis.main(net_flags + ["--output_file", str(output), "--save_raw", "--iter_behavior", "print",
                                  "--output_iter", "100", *argv])
        with np.load(output.with_suffix(".npz")) as raw:
            return {key: raw[key] for key in raw.files}
    return run_cnn_vis


@pytest.mark.parametrize("golden_name", GOLDENS)
@pytest.mark.parametrize("environment", ["pinned", "nothing set"])
def test_golden_through_the_command_line(golden_name, environment, net_flags, tmp_path, repo, load_golden):
    """In the goldens' environment (prefinput/cpu.py's PINNED), and with none
    of its variables set: cnn_vis.py then chooses the same CPU paths itself."""
    golden = load_golden(golden_name)
    output = tmp_path / "out.png"
    argv = golden["args"]["argv"] + net_flags + ["--seed", str(golden["args"]["seed"]),
                                                 "--output_file", str(output), "--save_raw"]
    env = {key: value for key, value in os.environ.items() if key not in cpu.PINNED}
    if environment == "pinned":
        env.update(cpu.PINNED)
    done = subprocess.run([sys.executable, str(repo / "cnn_vis.py"), *argv], cwd=tmp_path,
                          env={**env, **QUIET}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    with np.load(tmp_path / "out.npz") as raw:
        assert raw["image"].dtype == golden["image"].dtype
        assert np.array_equal(raw["image"], golden["image"])
        assert np.array_equal(raw["image_uint8"], golden["image_uint8"])
    assert np.array_equal(imread(output), golden["image_uint8"])


# Objectives

def target_value(tiny, img, layer, objective):
    """The objective on the top-left input-sized region of a Caffe image."""
    net = caffe.Net(*tiny["classifier"], caffe.TEST)
    net.forward(data=img[:, :, :27, :27].astype(np.float32))
    return objective(net.blobs[layer].data[0])


@pytest.mark.parametrize("layer,neuron", [("fc8", 4), ("conv3", 5)])
def test_amplify_neuron_raises_the_neuron(run, tiny, layer, neuron):
    flags = ["--image_type", "amplify_neuron", "--target_layer", layer, "--target_neuron", str(neuron),
             "--initial_size", "27x27", "--seed", "3", "--p_reg", "0", "--tv_reg", "0"]
    start = run(*flags, "--num_steps", "0")["image"]
    final = run(*flags, "--num_steps", "5")["image"]
    value = lambda img: target_value(tiny, img, layer, lambda a: a[neuron].mean())  # noqa: E731
    assert value(final) > value(start)


def test_amplify_layer_raises_the_layer(run, tiny):
    flags = ["--target_layer", "conv3", "--initial_size", "27x27", "--seed", "3",
             "--p_reg", "0", "--tv_reg", "0"]
    start = run(*flags, "--num_steps", "0")["image"]
    final = run(*flags, "--num_steps", "5")["image"]
    value = lambda img: target_value(tiny, img, "conv3", lambda a: (np.abs(a) + a ** 2).sum())  # noqa: E731
    assert value(final) > value(start)


# Regularisers, steps and schedules: each changes the result

BASE = ["--target_layer", "conv3", "--initial_size", "40x45", "--num_steps", "2", "--seed", "7",
        "--learning_rate", "2"]


@pytest.fixture
def baseline(run):
    return run(*BASE, name="base.png")["image"]


@pytest.mark.parametrize("flags", [
    ["--p_reg", "1e-1"], ["--alpha", "2"], ["--p_scale", "0.5"],
    ["--p_reg_aux", "1e-2", "--alpha_aux", "8"],
    ["--tv_reg", "5"], ["--beta", "2.5"], ["--tv_reg_scale", "0.2"],
    ["--tv_grad_operator", "sobel"], ["--tv_grad_operator", "sobel_squish"],
    ["--tv_reg_step", "5", "--tv_reg_step_iter", "1"],
    ["--learning_rate_decay_fraction", "0.1", "--learning_rate_decay_iter", "1"],
    ["--decay_rate", "0.5"], ["--use_pixel_learning_rates"],
    ["--amplify_l1_weight", "3"], ["--amplify_l2_weight", "0"], ["--amplify_grad_clip", "0.5"],
], ids=lambda flags: " ".join(flags))
def test_option_changes_the_result(run, baseline, flags):
    assert not np.array_equal(run(*BASE, *flags)["image"], baseline)


def test_same_seed_same_image_other_seed_other_image(run, baseline):
    assert np.array_equal(run(*BASE)["image"], baseline)
    assert not np.array_equal(run(*BASE, "--seed", "8")["image"], baseline)


def test_batches_of_regions_give_the_same_image(run, baseline):
    # 40x45 is tiled by 2 x 2 regions: batches of 3 leave a stale tail, 16 a padded one.
    for batch_size in ("3", "16"):
        assert np.array_equal(run(*BASE, "--batch_size", batch_size)["image"], baseline)


def test_input_dim_definitions_take_the_batch_size_too(run, baseline, tiny, net_flags, tmp_path):
    text = open(tiny["classifier"][0]).read()
    start, end = text.index("layer {"), text.index("layer {", text.index("layer {") + 1)
    old_style = tmp_path / "old_style.prototxt"
    old_style.write_text('input: "data"\ninput_dim: 1\ninput_dim: 3\ninput_dim: 27\ninput_dim: 27\n'
                         + text[:start] + text[end:])
    net_flags[1] = str(old_style)
    assert np.array_equal(run(*BASE, "--batch_size", "3")["image"], baseline)


# Sizes and starting points

def test_multiscale_from_an_image_with_intermediate_outputs(run, tmp_path):
    picture = (np.random.RandomState(0).rand(50, 60, 3) * 255).astype(np.uint8)
    start = tmp_path / "start.png"
    imsave(start, picture)
    raw = run("--target_layer", "conv3", "--initial_image", str(start), "--initial_size", "x1.0",
              "--final_size", "70x80", "--num_sizes", "3", "--resize_type", "linear", "--num_steps", "2",
              "--p_reg", "1e-2", "--alpha", "2", "--rescale_image",
              "--iter_behavior", "save+print", "--output_iter", "1")
    assert raw["image"].shape == (1, 3, 70, 80)
    assert raw["image_uint8"].min() == 0 and raw["image_uint8"].max() == 255  # rescaled
    assert np.array_equal(imread(tmp_path / "out.png"), raw["image_uint8"])
    saved = sorted(p.name for p in tmp_path.glob("out_*.png"))
    assert saved == ["out_%d_%d.png" % (s, t) for s in (1, 2, 3) for t in (1, 2)]
    assert imread(tmp_path / "out_2_1.png").shape == (60, 70, 3)


def test_noise_start_with_scale_and_blur(run):
    flags = ["--target_layer", "conv3", "--initial_size", "30x30", "--num_steps", "0", "--seed", "1",
             "--initialization_scale", "20"]
    sharp = run(*flags)["image"]
    blurred = run(*flags, "--initialization_blur", "1.5")["image"]
    assert sharp.std() > 2 * blurred.std() > 0


@pytest.mark.parametrize("size", ["27x27", "60x60", "27x250"])
def test_small_images_print_progress_without_crashing(run, capsys, size):
    run("--target_layer", "fc8", "--initial_size", size, "--num_steps", "2", "--output_iter", "1")
    out = capsys.readouterr().out
    assert out.count("Finished iteration") == 2 and "mean step / val" in out


# Mistakes

@pytest.mark.parametrize("flags,message", [
    (["--initial_size", "20x40"], "too small"),
    (["--initial_size", "40x20"], "too small"),
    (["--target_layer", "inception_4d/3x3_reduce"], "no blob or layer of this name; --list_blobs lists them"),
    (["--target_layer", "conv_3"], "no blob or layer of this name; closest: conv3, "),
    (["--image_type", "amplify_neuron", "--target_layer", "fc8", "--target_neuron", "10"], "out of range"),
])
def test_user_mistakes_are_user_errors(run, flags, message):
    with pytest.raises(UserError, match=message):
        run("--target_layer", "conv3", "--num_steps", "1", *flags)


def test_missing_model_is_one_line_and_status_2(net_flags, tmp_path, repo):
    net_flags[3] = str(tmp_path / "missing.caffemodel")
    done = subprocess.run([sys.executable, str(repo / "cnn_vis.py"), *net_flags, "--initial_size", "x1"],
                          cwd=tmp_path, env={**os.environ, **QUIET}, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "missing.caffemodel" in done.stderr


def test_bad_size_flag_is_refused_by_the_parser(net_flags, capsys):
    with pytest.raises(SystemExit) as exit_:
        cnn_vis.build_parser().parse_args(["--final_size", "big"])
    assert exit_.value.code == 2 and "HxW" in capsys.readouterr().err


def test_missing_output_folder_is_refused_before_any_work(net_flags, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        cnn_vis.main(net_flags + ["--output_file", str(tmp_path / "nowhere" / "out.png")])


def test_windows_without_matplotlib_are_refused_before_any_work(net_flags, tmp_path, monkeypatch):
    for name in ("matplotlib", "matplotlib.pyplot"):  # as on a machine without it (the notebooks install it)
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(UserError, match="matplotlib"):
        cnn_vis.main(net_flags + ["--iter_behavior", "print+plot_pix", "--output_file", str(tmp_path / "o.png")])


@pytest.fixture
def run_example(net_flags, tmp_path, repo):
    """cnn_vis.py through the example driver, as examples/cnn-vis/common.sh runs it: the image and its manifest."""
    def run_driver(*argv, name):
        done = subprocess.run([sys.executable, str(repo / "examples" / "driver.py"), "cnn_vis", "--manifests", "--",
                               *net_flags, "--output_file", str(tmp_path / name), "--iter_behavior", "print", *argv],
                              cwd=tmp_path, env={**os.environ, **QUIET}, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
    return run_driver


def test_cnn_vis_alone_writes_no_manifest(run, tmp_path):
    run("--target_layer", "conv3", "--initial_size", "30x30", "--num_steps", "1", name="example5.png")
    assert not (tmp_path / "example5.json").exists()  # the example driver's job (examples/cnn-vis/common.sh)


def test_an_example_output_writes_the_manifest_regression_reads(run_example, tmp_path, regression_main):
    from prefinput.image import imread, imsave
    run_example("--target_layer", "conv3", "--initial_size", "30x30", "--num_steps", "2", name="example5.png")
    manifest = json.loads((tmp_path / "example5.json").read_text())
    assert manifest["published"]["image"] == "cnn-vis/example5.png" and manifest["published"]["layout"] == "whole"
    assert [panel["file"] for panel in manifest["panels"]] == ["example5.png"]
    published = tmp_path / "published"
    published.mkdir()
    imsave(str(published / "example5.png"), imread(str(tmp_path / "example5.png")))  # as if published so
    status, out = regression_main(tmp_path / "example5.png", "--published_dir", published)
    assert status == 0 and "SSIM 1.000" in out
    assert (tmp_path / "example5_vs_published.jpg").is_file()


def test_another_output_name_has_no_published_picture(run_example, tmp_path, regression_main):
    run_example("--target_layer", "conv3", "--initial_size", "30x30", "--num_steps", "2", name="mine.png")
    assert json.loads((tmp_path / "mine.json").read_text())["published"] is None
    with pytest.raises(UserError, match="published no picture"):
        regression_main(tmp_path / "mine.png")


# --objective: a weighted sum of units

def test_an_fc_units_objective_is_amplify_neurons_golden_bit_for_bit(net_flags, tmp_path, pinned_environment, repo,
                                                                      load_golden):
    """amplify_neuron raises a whole channel's sum; on an fc blob that is the unit, fc8:4."""
    golden = load_golden("cnnvis_neuron_multiscale.npz")
    argv = golden["args"]["argv"]
    argv = argv[:argv.index("--image_type")] + argv[argv.index("--target_neuron") + 2:]
    done = subprocess.run([sys.executable, str(repo / "cnn_vis.py"), *argv, "--objective", "fc8:4", *net_flags,
                           "--seed", str(golden["args"]["seed"]), "--output_file", str(tmp_path / "out.png"),
                           "--save_raw"], cwd=tmp_path, env={**os.environ, **QUIET}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    with np.load(tmp_path / "out.npz") as raw:
        assert np.array_equal(raw["image"], golden["image"])


def test_a_sum_in_two_blobs_raises_it(run, tiny):
    from prefinput import objectives
    objective = objectives.parse("fc8:4 + 0.5*conv3:5@2,2")
    net = caffe.Net(*tiny["classifier"], caffe.TEST)

    def value(img):
        points = objectives.forward(net, [objective], data=img[:, :, :27, :27].astype(np.float32))
        return objective.value(points, 0)
    flags = ["--objective", str(objective), "--initial_size", "27x27", "--seed", "3", "--p_reg", "0", "--tv_reg", "0"]
    start = run(*flags, "--num_steps", "0", name="start.png")["image"]
    raised = run(*flags, "--num_steps", "5")["image"]
    assert value(raised) > value(start)
