"""PPGN class-conditional sampling (sampler.py, sampling_class.py) on the
tiny nets: the goldens of the original program, bit for bit, and each path of
the update rule."""
import json
import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.io

caffe = pytest.importorskip("caffe", reason="pycaffe is not importable: run `make setup` first")
import sampling_class  # noqa: E402  (needs caffe)
from ppgn import chains, codes, masks  # noqa: E402
from prefinput import image  # noqa: E402
from prefinput.errors import UserError  # noqa: E402
from prefinput.steps import read_image_for  # noqa: E402

@pytest.fixture(scope="module")
def data_files(shared_path):
    misc = shared_path("reference", "ppgn", "misc")
    return {"synset_file": str(misc / "synset_words.txt"), "mean_file_mat": str(misc / "ilsvrc_2012_mean.mat"),
            "volcano": str(shared_path("reference", "ppgn", "images", "volcano.jpg"))}


@pytest.fixture(scope="module")
def net_flags(data_files, shared_path):
    """The flags that point sampling_class.py at the tiny nets."""
    tiny = shared_path("fixtures", "tiny")
    classifier = [str(tiny / "classifier.prototxt"), str(tiny / "classifier.caffemodel")]
    generator = [str(tiny / "generator.prototxt"), str(tiny / "generator.caffemodel")]
    return ["--net_definition", classifier[0], "--net_weights", classifier[1],
            "--encoder_definition", classifier[0], "--encoder_weights", classifier[1],
            "--generator_definition", generator[0], "--generator_weights", generator[1],
            "--synset_file", data_files["synset_file"], "--mean_file_mat", data_files["mean_file_mat"]]


@pytest.fixture(scope="module")
def nets(net_flags):
    """The condition net, encoder and generator, loaded once for the module."""
    return sampling_class.load_nets(sampling_class.parse_args(net_flags + ["--units", "0"]))


def flags_of(golden_args):
    """The golden's parameters as command-line flags."""
    return [item for key, value in golden_args.items() for item in (f"--{key}", str(value))]


def chain(nets, net_flags, tmp_path, *flags):
    """Run sample() in-process; return its args, the final image's path and the raw arrays."""
    args = sampling_class.parse_args(net_flags + ["--output_dir", str(tmp_path), "--save_raw", *flags])
    filename = sampling_class.sample(args, nets).file
    with np.load(os.path.splitext(filename)[0] + ".npz") as raw:
        return args, filename, {key: raw[key] for key in raw.files}


def draws_after(seed, *draws):
    """np.random's next number after seeding and making `draws`, e.g. ('normal', 64)."""
    rng = np.random.RandomState(seed)
    for kind, size in draws:
        getattr(rng, kind)(size=size)
    return rng.random_sample()


@pytest.mark.goldens("ppgn_*.npz")  # parametrizes `name` (conftest)
def test_golden_through_the_cli(name, net_flags, tmp_path, pinned_environment, repo, load_golden):
    golden = load_golden(name)
    command = [sys.executable, str(repo / "sampling_class.py"), *flags_of(golden["args"]), *net_flags,
               "--output_dir", str(tmp_path), "--save_raw"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    [raw_path] = tmp_path.glob("*.npz")
    with np.load(raw_path) as raw:
        assert raw["image"].dtype == np.float32 and raw["image"].shape == golden["image"].shape
        assert np.array_equal(raw["image"], golden["image"])
        assert np.array_equal(raw["samples"], golden["samples"])
        assert list(raw["sample_names"]) == list(golden["sample_names"])
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == list(golden["sample_names"])


def test_unit_is_an_abbreviation_of_units():
    assert sampling_class.parse_args(["--unit", "945"]).units == "945"
    assert sampling_class.parse_args(["--units", "946_629"]).units == "946_629"


def test_default_lr_end_is_lr():
    args = sampling_class.parse_args(["--units", "1", "--lr", "3"])
    assert args.lr_end == 3.0


def test_output_names_are_the_originals(nets, net_flags, tmp_path):
    args, filename, raw = chain(nets, net_flags, tmp_path, "--units", "3", "--n_iters", "2",
                                "--lr", "1", "--epsilon1", "1e-05", "--save_every", "1")
    assert os.path.basename(filename) == "fc8_0003_0002_1.0_h_1e-05_1.0_1.0_0.0__0.jpg"
    assert os.path.isfile(filename)
    assert sorted(os.listdir(tmp_path / "samples")) == ["00000.jpg", "00001.jpg", "00002.jpg"]
    assert json.loads(str(raw["args"]))["units"] == "3"


def test_reset_draws_a_new_code_and_epsilon1(nets, net_flags, tmp_path):
    _, _, plain = chain(nets, net_flags, tmp_path / "plain", "--units", "1", "--n_iters", "4",
                        "--epsilon3", "0")
    _, _, reset = chain(nets, net_flags, tmp_path / "reset", "--units", "1", "--n_iters", "4",
                        "--epsilon3", "0", "--reset_every", "2")
    # the start code, then after steps 2 and 4: a new code and a new epsilon1
    expected = draws_after(0, ("normal", 64), ("normal", 64), ("uniform", 1), ("normal", 64), ("uniform", 1))
    assert np.random.random_sample() == expected
    assert np.array_equal(plain["samples"][:3], reset["samples"][:3])
    assert not np.array_equal(plain["samples"][3], reset["samples"][3])


def test_noise_is_one_draw_per_step(nets, net_flags, tmp_path):
    _, _, quiet = chain(nets, net_flags, tmp_path / "quiet", "--units", "2", "--n_iters", "3",
                        "--epsilon3", "0")
    assert np.random.random_sample() == draws_after(0, ("normal", 64))
    _, _, noisy = chain(nets, net_flags, tmp_path / "noisy", "--units", "2", "--n_iters", "3",
                        "--epsilon3", "0.5")
    assert np.random.random_sample() == draws_after(0, ("normal", 64), *[("normal", 64)] * 4)
    assert np.array_equal(quiet["samples"][0], noisy["samples"][0])  # the first sample is G(start code)
    assert not np.array_equal(quiet["samples"][1], noisy["samples"][1])


def test_conditions_switch_every_n_iters(nets, net_flags, tmp_path):
    args, _, raw = chain(nets, net_flags, tmp_path, "--units", "1_2", "--n_iters", "3",
                         "--threshold", "-1", "--write_labels")
    assert list(raw["sample_names"]) == ["%05d.jpg" % i for i in range(7)]
    names = sampling_class.read_class_names(args.synset_file)
    seen = []

    class Recorder(sampling_class.ClassConditionalSampler):
        def print_progress(self, i, info, condition, prob, grad):
            seen.append(condition["unit"])

    sampler = Recorder(args.synset_file)
    np.random.seed(0)
    net, encoder, generator = nets.classifier, nets.encoder, nets.generator
    with chains.kept_samples(args.output_dir, args.save_every, args.write_labels, args.save_raw) as kept:
        _, samples = sampler.sampling(net, encoder, generator, "feat", "deconv0", np.random.normal(0, 1, (1, 64)),
                                      3, 1.0, 1.0, -1, "fc8", [{"unit": 1, "xy": 0}, {"unit": 2, "xy": 0}],
                                      chain=kept)
    assert seen == [1, 1, 1, 1, 2, 2, 2]
    assert [sample.label for sample in samples] == [names[1]] * 4 + [names[2]] * 3
    # the files the program returns say the unit each sample was made under
    result = sampling_class.sample(args, nets)
    assert [frame.unit for frame in result.frames] == [1, 1, 1, 1, 2, 2, 2]
    assert [os.path.basename(frame.file) for frame in result.frames] == list(raw["sample_names"])
    assert result.unit == 2  # the condition the final image was made under
    # --write_labels puts the label under each sample: taller than the image
    assert image.imread(tmp_path / "samples" / "00000.jpg").shape[0] > 27


def test_conv_unit_condition_is_softmax_over_channels(nets, data_files, tmp_path):
    net = nets.classifier
    sampler = sampling_class.ClassConditionalSampler(data_files["synset_file"])
    image = np.random.RandomState(1).normal(0, 30, (1, 3, 27, 27)).astype(np.float32)
    grad, prob, info = sampler.forward_backward_from_x_to_condition(net, "conv5", image, {"unit": 3, "xy": 2})
    acts = net.forward(data=image, end="conv5")["conv5"][0, :, 2, 2].astype(np.float64)
    softmax = np.exp(acts - acts.max()) / np.exp(acts - acts.max()).sum()
    assert prob == pytest.approx(softmax[3], rel=1e-5)
    assert info["best_unit"] == acts.argmax()
    assert grad.shape == image.shape and np.abs(grad).sum() > 0
    assert not net.blobs["conv5"].diff.any()  # the objective is reset after the step


def test_conv_unit_chain(nets, net_flags, tmp_path):
    _, filename, raw = chain(nets, net_flags, tmp_path, "--units", "3", "--act_layer", "conv5",
                             "--xy", "2", "--n_iters", "3")
    assert os.path.basename(filename).startswith("conv5_0003_0003_")
    assert len(raw["samples"]) == 4 and np.isfinite(raw["image"]).all()


def test_threshold_keeps_samples_above_it(nets, net_flags, tmp_path, monkeypatch):
    probs = []
    monkeypatch.setattr(sampling_class.ClassConditionalSampler, "print_progress",
                        lambda self, i, info, condition, prob, grad: probs.append(float(prob)))
    chain(nets, net_flags, tmp_path / "all", "--units", "4", "--n_iters", "9")
    threshold = float(np.median(probs))
    _, _, raw = chain(nets, net_flags, tmp_path / "some", "--units", "4", "--n_iters", "9",
                      "--threshold", repr(threshold))
    kept = ["%05d.jpg" % i for i, p in enumerate(probs[:10]) if p > threshold]
    assert 0 < len(kept) < 10
    assert list(raw["sample_names"]) == kept


def test_zero_gradient_stops_the_chain(nets, net_flags, tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0 / mean|0|, as in the original
        _, _, raw = chain(nets, net_flags, tmp_path, "--units", "1", "--n_iters", "5",
                          "--epsilon1", "0", "--epsilon2", "0", "--epsilon3", "0")
    assert " d_h is 0" in capsys.readouterr().out
    assert list(raw["sample_names"]) == ["00000.jpg"]


def test_mask_hole_scales_with_the_image():
    for size, hole in ((227, 100), (27, 11)):
        np.random.seed(3)
        mask, neg = masks.get_mask((3, size, size))
        rng = np.random.RandomState(3)
        left, top = rng.randint(0, size - hole), rng.randint(0, size - hole)
        expected = np.zeros((3, size, size))
        expected[:, top:top + hole, left:left + hole] = 1
        assert np.array_equal(mask, expected) and np.array_equal(neg, 1 - expected)


def test_inpainting_keeps_the_context_and_stitches(nets, net_flags, data_files, tmp_path):
    args, filename, raw = chain(nets, net_flags, tmp_path, "--units", "5", "--n_iters", "3",
                                "--init_file", data_files["volcano"], "--epsilon3", "0", "--epsilon4", "1e-9",
                                "--seed", "2", "--lr_end", "1e-32")
    encoder = nets.encoder
    np.random.seed(2)
    mask, neg = masks.get_mask((3, 27, 27))
    _, context = codes.encode_image(encoder, data_files["volcano"], "fc6", data_files["mean_file_mat"], mask=neg)
    last = raw["image"][0]
    assert np.array_equal(last * neg, context[0])  # outside the hole: the real image
    assert (last * mask).any()                     # inside it: the generator's
    assert image.imread(filename).shape == (27, 2 * 27 + 1, 3)


def test_init_file_is_read_as_the_encoder_sees_it(nets, data_files):
    encoder = nets.encoder
    data = read_image_for(encoder, data_files["volcano"], data_files["mean_file_mat"])
    mean = scipy.io.loadmat(data_files["mean_file_mat"])["image_mean"][114:141, 114:141]
    rgb = image.imresize(image.imread(data_files["volcano"]), (27, 27))
    assert data.dtype == np.float32 and data.shape == (1, 3, 27, 27)
    assert np.array_equal(data[0, 0] + mean[:, :, 0], rgb[:, :, 2].astype(np.float32))  # blue first


def test_init_file_starts_the_chain_from_its_code(nets, net_flags, data_files, tmp_path):
    encoder, generator = nets.encoder, nets.generator
    code, _ = codes.encode_image(encoder, data_files["volcano"], "fc6", data_files["mean_file_mat"])
    generator.forward(feat=code)
    expected = generator.blobs["deconv0"].data[:, :, 2:29, 2:29].copy()
    _, _, raw = chain(nets, net_flags, tmp_path, "--units", "6", "--n_iters", "2",
                      "--init_file", data_files["volcano"])
    assert np.array_equal(raw["samples"][0], expected)
    assert np.random.random_sample() == draws_after(0, *[("normal", 64)] * 3)  # noise only: no random start


@pytest.mark.parametrize("flags, message", [
    (["--units", "10"], "--unit 10: fc8 has units 0..9"),
    (["--units", "1", "--act_layer", "conv5", "--xy", "6"], "--xy 6: conv5 is 6x6"),
    (["--units", "1", "--act_layer", "nonesuch"],
     "--act_layer nonesuch: the net has no blob or layer of this name; --list_blobs lists them"),
    (["--units", "1", "--epsilon4", "1"], "needs an image"),
    (["--units", "one"], "expected numbers"),
])
def test_user_mistakes_are_user_errors(flags, message, nets, net_flags, tmp_path):
    with pytest.raises(UserError, match=re.escape(message)):
        sampling_class.sample(sampling_class.parse_args(net_flags + flags + ["--output_dir", str(tmp_path)]), nets)
    assert not os.listdir(tmp_path)


def test_a_missing_start_image_stops_before_the_nets_load(net_flags, tmp_path):
    args = sampling_class.parse_args(net_flags + ["--units", "1", "--init_file", "/nonexistent.jpg",
                                                  "--output_dir", str(tmp_path)])
    with pytest.raises(UserError, match=re.escape("/nonexistent.jpg not found")):
        sampling_class.load_nets(args)
    assert not os.listdir(tmp_path)


def test_a_user_error_is_one_line_and_status_2(net_flags, tmp_path, repo):
    result = subprocess.run([sys.executable, str(repo / "sampling_class.py"), *net_flags, "--units", "10",
                             "--output_dir", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr == "sampling_class.py: error: --unit 10: fc8 has units 0..9\n"


# --- --objective: the condition as a weighted sum of units --------------------

@pytest.mark.goldens("ppgn_*.npz")  # parametrizes `name` (conftest)
def test_a_single_unit_objective_is_the_units_golden_bit_for_bit(name, nets, net_flags, tmp_path, load_golden,
                                                                  pinned_environment):
    golden = load_golden(name)
    args = dict(golden["args"])
    objective = "%s:%s" % (args.pop("act_layer"), args.pop("units"))
    _, filename, raw = chain(nets, net_flags, tmp_path, "--objective", objective, *flags_of(args))
    assert np.array_equal(raw["image"], golden["image"]) and np.array_equal(raw["samples"], golden["samples"])
    assert list(raw["sample_names"]) == list(golden["sample_names"])
    assert os.path.basename(filename).startswith("fc8_%04d_" % int(objective.split(":")[1]))


def test_a_sum_conditions_on_each_term_and_names_the_file_after_it(nets, net_flags, tmp_path, capsys):
    _, filename, raw = chain(nets, net_flags, tmp_path, "--objective", "fc8:3 + conv5:1", "--n_iters", "3",
                             "--lr", "1", "--epsilon1", "1e-05", "--save_every", "1", "--write_labels")
    assert os.path.basename(filename) == "fc8_0003+conv5_0001_0003_1.0_h_1e-05_1.0_1.0_0.0__0.jpg"
    assert len(re.findall(r"obj: fc8:3 \+ conv5:1 \[", capsys.readouterr().out)) == 4
    assert raw["samples"].shape[0] == 4 and sorted(os.listdir(tmp_path / "samples")) == [
        "00000.jpg", "00001.jpg", "00002.jpg", "00003.jpg"]


def test_a_sums_gradient_is_each_terms_log_softmax_gradient_added(nets):
    from prefinput.objectives import parse
    net = nets.classifier
    image = np.random.RandomState(0).normal(0, 30, (1, 3, 27, 27)).astype(np.float32)
    sampler = sampling_class.ClassConditionalSampler.__new__(sampling_class.ClassConditionalSampler)
    both, prob, _ = sampling_class.log_softmax_sum(net, image, parse("fc8:3 - 0.5*fc8:1"))
    one, p3, _ = sampler.forward_backward_from_x_to_condition(net, "fc8", image, {"unit": 3, "xy": 0})
    other, p1, _ = sampler.forward_backward_from_x_to_condition(net, "fc8", image, {"unit": 1, "xy": 0})
    assert np.allclose(both, one - 0.5 * other, rtol=1e-5, atol=1e-6 * np.abs(one).max())
    assert prob == pytest.approx(p3 * p1 ** -0.5)


def test_a_sums_label_names_each_class():
    from prefinput.objectives import parse
    names = ["tench", "goldfish", "shark"]
    assert sampling_class.objective_label(parse("fc8:0 + fc8:2"), names) == "tench + shark"
    assert sampling_class.objective_label(parse("fc8:1 - 0.5*fc8:0 + conv5:7"), names) == \
        "goldfish - 0.5 tench + conv5:7"


def test_a_label_file_without_the_units_line_labels_by_number_and_says_so_once(nets, net_flags, tmp_path, capsys):
    short = tmp_path / "labels.txt"
    short.write_text("n01 tench\nn02 goldfish\nn03 shark\n")
    chain(nets, net_flags, tmp_path, "--units", "5", "--n_iters", "2", "--synset_file", str(short),
          "--write_labels")
    out = capsys.readouterr().out
    assert out.count("Labels by unit number: --synset_file %s: 3 labels, none for unit 5" % short) == 1
    assert len(os.listdir(tmp_path / "samples")) == 3
