"""act_max.py on the tiny nets: the original's goldens bit for bit, and each
of its options (bounds, clip, conv units, start image, debug, zero gradients)."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from harness import figures
from prefinput import collage, steps
from prefinput.errors import UserError
from prefinput.image import imread, imsave, save_image

PINNED = {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_NUM_THREADS": "1"}
PROGRESS = re.compile(r"^max: +(\d+) \[(-?\d+\.\d\d)\]\t obj: +(\d+) \[(-?\d+\.\d\d)\]\t norm: \[(\d+\.\d\d)\]$", re.M)


def tiny_flags(tiny, generator_weights=None, net_weights=None):
    classifier, generator = tiny["classifier"], tiny["generator"]
    return ["--net_definition", classifier[0], "--net_weights", net_weights or classifier[1],
            "--generator_definition", generator[0], "--generator_weights", generator_weights or generator[1],
            "--encoder_definition", classifier[0], "--encoder_weights", classifier[1]]


def act_max(repo, cwd, *flags, status=0):
    """Run the repository's act_max.py as a program in `cwd` in the pinned
    environment; its stdout (or, when a failure is expected, the finished process)."""
    env = dict(os.environ, **PINNED, PREFINPUT_OFFLINE="1")
    done = subprocess.run([sys.executable, str(repo / "act_max.py"), *map(str, flags)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == status, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout if status == 0 else done


def raw(folder, layer="fc8", unit=3, n_iters=3, L2=0.99, lr=8.0, seed=0):
    """The --save_raw arrays of a run, found under the original's file name."""
    with np.load(os.path.join(folder, f"{layer}_{unit:04d}_{n_iters:02d}_{L2}_{lr}__{seed}.npz")) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture
def run(tmp_path, tiny, monkeypatch, capsys):
    """act_max.main in this process (no Caffe start-up per run) with the tiny
    nets, 3 iterations and --save_raw, in tmp_path; returns what it printed."""
    import act_max
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PREFINPUT_OFFLINE", "1")

    def run(*flags, folder=tmp_path, n_iters=3, unit=3, **nets):
        os.makedirs(folder, exist_ok=True)
        units = unit if isinstance(unit, tuple) else (unit,)
        capsys.readouterr()
        act_max.main([str(flag) for flag in ("--unit", *units, "--n_iters", n_iters, "--L2", 0.99, "--start_lr", 8.0,
                                             "--end_lr", 1e-10, "--output_dir", folder, "--save_raw",
                                             *tiny_flags(tiny, **nets), *flags)])
        return capsys.readouterr().out
    return run


@pytest.mark.parametrize("name", ["actmax_fc8.npz", "actmax_conv5_bound.npz"])
def test_the_cli_reproduces_the_original_goldens_exactly(repo, load_golden, tmp_path, tiny, name):
    golden = load_golden(name)
    args = golden["args"]
    flags = []
    for key, value in args.items():
        if key == "bound" and value:
            value = os.path.join(os.path.dirname(tiny["fc6_bound"]), value)
        flags += [f"--{key}", value]
    act_max(repo, tmp_path, *flags, *tiny_flags(tiny), "--output_dir", tmp_path, "--save_raw")
    stem = "%s_%04d_%02d_%s_%s__%s" % (args["act_layer"], args["unit"], args["n_iters"], args["L2"],
                                       args["start_lr"], args["seed"])
    assert (tmp_path / (stem + ".jpg")).is_file()
    result = raw(tmp_path, args["act_layer"], args["unit"], args["n_iters"], args["L2"], args["start_lr"],
                 args["seed"])
    assert result["image"].dtype == np.float32 and result["image"].shape == (1, 3, 27, 27)
    assert np.array_equal(result["image"], golden["image"])
    assert np.array_equal(result["code"], golden["code"])


def test_progress_lines_report_the_unit_activation_of_the_image(run, tmp_path, tiny):
    import caffe
    out = run("--act_layer", "fc8", n_iters=4)
    lines = PROGRESS.findall(out)
    assert len(lines) == 4 and all(line[2] == "3" for line in lines)
    assert re.search(r"Saved to .*/fc8_0003_04_0\.99_8\.0__0\.jpg", out)
    # the saved image is the input of the last step: its fc8[3] is the last line's
    net = caffe.Net(*tiny["classifier"], caffe.TEST)
    net.forward(data=raw(tmp_path, n_iters=4)["image"], end="fc8")
    assert "%.2f" % net.blobs["fc8"].data[0, 3] == lines[-1][3]


def test_conv_units_are_read_at_xy_xy(run, tmp_path, tiny):
    import caffe
    out = run("--act_layer", "conv5", "--xy", 1, unit=5)
    last = PROGRESS.findall(out)[-1]
    net = caffe.Net(*tiny["classifier"], caffe.TEST)
    net.forward(data=raw(tmp_path, layer="conv5", unit=5)["image"], end="conv5")
    channel = net.blobs["conv5"].data[0, :, 1, 1]
    assert "%.2f" % channel[5] == last[3]
    assert int(last[0]) == channel.argmax()


def test_a_unit_or_position_outside_the_layer_is_a_user_error(run):
    with pytest.raises(UserError, match=r"^--xy 6: conv5 is 6x6$"):
        run("--act_layer", "conv5", "--xy", 6, unit=5)
    with pytest.raises(UserError, match=r"^--unit 10: fc8 has units 0\.\.9$"):
        run(unit=10)


def test_a_missing_model_stops_before_any_work_with_one_line(repo, tmp_path, tiny):
    done = act_max(repo, tmp_path, "--unit", 1, *tiny_flags(tiny, net_weights=str(tmp_path / "none.caffemodel")),
                   status=2)
    assert len(done.stderr.strip().splitlines()) == 1 and "none.caffemodel" in done.stderr
    assert done.stderr.startswith("act_max.py: error: ") and "Starting optimizing" not in done.stdout


def test_the_bound_file_keeps_each_code_unit_between_zero_and_its_bound(run, tmp_path, tiny):
    run("--bound", tiny["fc6_bound"])
    code = raw(tmp_path)["code"]
    upper = np.loadtxt(tiny["fc6_bound"]).astype(np.float32)
    assert (code >= 0).all() and (code <= upper).all()
    run(folder=tmp_path / "free")
    assert (raw(tmp_path / "free")["code"] < 0).any()  # without it the code goes negative


def test_clip_keeps_the_code_in_minus_one_to_one_and_wins_over_the_bound(run, tmp_path, tiny):
    run("--clip", 1, "--bound", tiny["fc6_bound"])
    code = raw(tmp_path)["code"]
    assert np.abs(code).max() <= 1 and (code < 0).any()


def test_several_units_in_one_process_equal_separate_runs(run, tmp_path, tiny):
    run("--bound", tiny["fc6_bound"], unit=2)
    together = tmp_path / "together"
    run("--bound", tiny["fc6_bound"], unit=(4, 2), folder=together)
    alone, second = raw(tmp_path, unit=2), raw(together, unit=2)
    assert np.array_equal(alone["image"], second["image"]) and np.array_equal(alone["code"], second["code"])


def zeroed(tmp_path, definition, weights, layer):
    """A copy of a net's weights with `layer`'s weights and biases zero."""
    import caffe
    net = caffe.Net(definition, weights, caffe.TEST)
    for blob in net.params[layer]:
        blob.data[...] = 0
    path = str(tmp_path / f"zero_{layer}.caffemodel")
    net.save(path)
    return path


def test_a_zero_generator_gradient_stops_after_one_step(run, tmp_path, tiny):
    weights = zeroed(tmp_path, *tiny["generator"], "deconv0")
    out = run(n_iters=5, generator_weights=weights)
    assert len(PROGRESS.findall(out)) == 1 and " grad_norm_generator is 0" in out
    assert (tmp_path / "fc8_0003_05_0.99_8.0__0.jpg").is_file()


def test_a_zero_classifier_gradient_skips_the_step_and_stops(run, tmp_path, tiny):
    weights = zeroed(tmp_path, *tiny["classifier"], "fc8")
    out = run(n_iters=5, net_weights=weights)
    # no image step, so no progress line; the unchanged image gives the generator nothing either
    assert not PROGRESS.findall(out) and " grad_norm_generator is 0" in out


def test_debug_saves_every_iteration_with_its_activation_below(run, tmp_path, tiny):
    out = run("--debug", 1, n_iters=3)
    assert [line for line in out.splitlines() if line.startswith(" > ")] == [" > 0 ", " > 1 ", " > 2 "]
    names = sorted(os.listdir(tmp_path / "debug"))
    assert names == ["000.jpg", "001.jpg", "002.jpg", "003.jpg"]
    for name in names[:3]:
        labelled = imread(str(tmp_path / "debug" / name))
        assert labelled.shape[0] > 27 + 10 and labelled[37:].min() < 100  # text under the image
    assert imread(str(tmp_path / "debug" / "003.jpg")).shape == (27, 27, 3)  # the result, unlabelled


def test_debug_replaces_an_earlier_runs_iterations_and_nothing_else(run, tmp_path):
    debug = tmp_path / "out" / "debug"
    debug.mkdir(parents=True)
    (debug / "007.jpg").write_bytes(b"an earlier run's iteration")
    (debug / "notes.txt").write_text("mine")
    run("--debug", 1, folder=tmp_path / "out", n_iters=2)
    assert sorted(os.listdir(debug)) == ["000.jpg", "001.jpg", "002.jpg", "notes.txt"]
    assert (debug / "notes.txt").read_text() == "mine"


def smooth_image(path, height=40, width=30):
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 / width, y * 255 / height, (x + y) * 255 / (width + height)], axis=2)
    imsave(path, image.astype(np.uint8))
    return path


def test_the_start_code_is_the_encoders_code_of_the_resized_mean_subtracted_image(tmp_path, tiny, shared_path):
    import caffe
    import scipy.io
    from PIL import Image
    mean_file = str(shared_path("reference", "synthesizing", "ilsvrc_2012_mean.mat"))
    path = smooth_image(str(tmp_path / "start.png"))
    encoder = caffe.Net(*tiny["classifier"], caffe.TEST)
    data = steps.read_image_for(encoder, path, mean_file)
    code = steps.encode(encoder, data, "fc6")

    with Image.open(path) as image:
        resized = np.asarray(image.resize((27, 27), Image.BILINEAR), dtype=np.float32)
    mean = scipy.io.loadmat(mean_file)["image_mean"][114:141, 114:141]  # centre 27x27 of 256x256
    expected = resized[:, :, ::-1].transpose(2, 0, 1)[np.newaxis] - mean.transpose(2, 0, 1)[np.newaxis]
    assert np.array_equal(data, expected)
    other = caffe.Net(*tiny["classifier"], caffe.TEST)
    other.forward(data=expected)
    assert code.shape == (1, 64) and np.array_equal(code, other.blobs["fc6"].data)


def test_init_file_starts_from_the_images_code(run, tmp_path, tiny, shared_path):
    mean_file = shared_path("reference", "synthesizing", "ilsvrc_2012_mean.mat")
    path = smooth_image(str(tmp_path / "start.png"))
    out = run("--init_file", path, "--opt_layer", "fc6", "--mean_file_mat", mean_file,
              "--bound", tiny["fc6_bound"])
    assert "Loaded start code:  (1, 64)" in out
    from_image = raw(tmp_path)
    run("--bound", tiny["fc6_bound"], folder=tmp_path / "noise")
    assert not np.array_equal(from_image["code"], raw(tmp_path / "noise")["code"])


def test_init_file_needs_opt_layer(run, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        run("--init_file", smooth_image(str(tmp_path / "s.png")))
    assert stop.value.code == 2 and "--init_file needs --opt_layer" in capsys.readouterr().err


# --- the pieces around the algorithm ------------------------------------

def test_save_image_clips_to_120_then_stretches_min_max_like_scipy(tmp_path):
    bgr = np.zeros((1, 3, 1, 2), dtype=np.float32)
    bgr[0, :, 0, 0] = [-200, 0, 60]   # B, G, R
    bgr[0, :, 0, 1] = [120, 30, -60]
    path = str(tmp_path / "x.png")
    save_image(bgr, path)
    # RGB (60, 0, -120) -> (0.75, 0.5, 0); (-60, 30, 120) -> (0.25, 0.625, 1); then * 255 + 0.5
    assert imread(path).tolist() == [[[191, 128, 0], [64, 159, 255]]]
    save_image(bgr / 10, path)  # within [-20, 6]: still stretched to 0..255
    assert imread(path).min() == 0 and imread(path).max() == 255


def test_output_name_is_the_originals():
    import act_max
    assert act_max.output_name("out", "fc8", 3, 200, 0.99, 8.0, 0) == "out/fc8_0003_200_0.99_8.0__0.jpg"
    assert act_max.output_name(".", "loss3/classifier", 643, 5, 0.99, 2.0, 1) == \
        "./loss3/classifier_0643_05_0.99_2.0__1.jpg"


def test_load_bound_reads_the_first_n_values_and_zero_below(tiny):
    import act_max
    upper, lower = act_max.load_bound(tiny["fc6_bound"], (1, 10))
    assert upper.shape == lower.shape == (1, 10) and upper.dtype == np.float64
    assert np.array_equal(upper[0], np.loadtxt(tiny["fc6_bound"])[:10]) and not lower.any()


def test_labels_follow_the_scripts_cut_commands(tmp_path):
    synsets = tmp_path / "synsets.txt"
    synsets.write_text("n01 tench, Tinca tinca\n\nn02 bell pepper\nn03 great white shark, white shark\n")
    lines = figures.read_labels(str(synsets))
    assert [figures.label_of(unit, "synset", lines) for unit in range(3)] == ["tench", "bell pepper", "great white"]
    places = ["abbey 0", "art_gallery 8", "doorway/outdoor 71", "a_b_c 3"]
    assert [figures.label_of(unit, "places", places) for unit in range(4)] == [
        "abbey", "art gallery", "doorway/outdoor", "a b_c"]
    assert figures.label_of(154, "unit", []) == "154"


def test_crop_and_tile_flags_parse():
    assert collage.parse_crop("163x163+32+32") == (163, 163, 32, 32)
    assert collage.parse_tile("10x20") == (10, 20)
    with pytest.raises(ValueError):
        collage.parse_crop("163x163")
    with pytest.raises(ValueError):
        collage.parse_tile("5")


# --- --objective: a weighted sum of units -------------------------------------

@pytest.mark.parametrize("name", ["actmax_fc8.npz", "actmax_conv5_bound.npz"])
def test_a_single_unit_objective_is_the_units_golden_bit_for_bit(load_golden, run, tmp_path, tiny, name,
                                                                 pinned_environment):
    import act_max
    golden = load_golden(name)
    args = golden["args"]
    spatial = args["act_layer"] == "conv5"
    objective = "%s:%d" % (args["act_layer"], args["unit"]) + ("@%d,%d" % (args["xy"], args["xy"]) if spatial else "")
    flags = ["--objective", objective, "--n_iters", args["n_iters"], "--L2", args["L2"], "--start_lr",
             args["start_lr"], "--end_lr", args["end_lr"], "--seed", args["seed"], "--output_dir", tmp_path,
             "--save_raw", *tiny_flags(tiny)]
    if args["bound"]:
        flags += ["--bound", tiny["fc6_bound"]]
    results = act_max.visualise(act_max.parse_args(list(map(str, flags))), act_max.load_nets(
        act_max.parse_args(list(map(str, flags)))))
    saved = np.load(os.path.splitext(results[0].file)[0] + ".npz")
    assert np.array_equal(saved["image"], golden["image"]) and np.array_equal(saved["code"], golden["code"])
    if args["act_layer"] == "fc8":  # the original's name, as --unit gives
        assert os.path.basename(results[0].file) == "fc8_0003_20_0.99_8.0__0.jpg"
    assert results[0].unit == args["unit"] and results[0].objective == objective


def objective_run(tiny, tmp_path, *objectives, batch=1, n_iters=3):
    """act_max.visualise with --objective on the tiny nets; its Results."""
    import act_max
    args = act_max.parse_args([str(flag) for flag in (
        "--objective", *objectives, "--n_iters", n_iters, "--L2", 0.99, "--start_lr", 8.0, "--end_lr", 1e-10,
        "--output_dir", tmp_path, "--save_raw", "--batch", batch, *tiny_flags(tiny))])
    return act_max.visualise(args, act_max.load_nets(args))


def test_a_sum_of_units_in_two_blobs_raises_both(tiny, tmp_path, capsys):
    import caffe
    both, = objective_run(tiny, tmp_path, "fc8:3 + conv5:1@2,2", n_iters=6)
    out = capsys.readouterr().out
    assert os.path.basename(both.file) == "fc8_0003+conv5_0001@2,2_06_0.99_8.0__0.jpg"
    assert both.unit is None and both.objective == "fc8:3 + conv5:1@2,2"
    objs = [float(value) for value in re.findall(r"obj: fc8:3 \+ conv5:1@2,2 \[(-?\d+\.\d\d)\]", out)]
    assert len(objs) == 6 and objs[-1] > objs[0]
    # the activation reported is the sum, read as each term reads its blob
    net = caffe.Net(*tiny["classifier"], caffe.TEST)
    image = np.load(os.path.splitext(both.file)[0] + ".npz")["image"]
    net.forward(data=image, end="conv5")
    conv5 = float(net.blobs["conv5"].data[0, 1, 2, 2])
    net.forward(data=image, end="fc8")
    assert both.activation == pytest.approx(net.blobs["fc8"].data[0, 3] + conv5, rel=1e-5)


def test_a_negative_weight_lowers_the_unit(tiny, tmp_path):
    import caffe
    plain, suppressed = objective_run(tiny, tmp_path, "fc8:3", "fc8:3 - 2*fc8:1", n_iters=8)
    net = caffe.Net(*tiny["classifier"], caffe.TEST)

    def fc8(result):
        net.forward(data=np.load(os.path.splitext(result.file)[0] + ".npz")["image"], end="fc8")
        return net.blobs["fc8"].data[0].copy()
    assert fc8(suppressed)[1] < fc8(plain)[1]


def test_a_batch_of_objectives_equals_each_alone(tiny, tmp_path):
    sums = ["fc8:3 + fc8:7", "conv5:2 - 0.5*fc8:1", "conv3:4@1,1"]
    alone = objective_run(tiny, tmp_path / "alone", *sums)
    batched = objective_run(tiny, tmp_path / "batched", *sums, batch=3)
    for one, other in zip(alone, batched):
        assert os.path.basename(one.file) == os.path.basename(other.file)
        a, b = (np.load(os.path.splitext(r.file)[0] + ".npz") for r in (one, other))
        assert np.allclose(a["code"], b["code"], rtol=1e-4, atol=1e-4)
