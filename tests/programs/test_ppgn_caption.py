"""PPGN caption conditioning (sampling_caption.py) on a tiny captioner in
the LRCN layout (conftest's lrcn fixture builds it): the tiny classifier's
fc8 feeds an LSTM (Embed, LSTM, LSTM, InnerProduct, Softmax, Log) with the
blobs image_features, cont_sentence, input_sentence, probs and log_prob."""
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("caffe", reason="pycaffe is not importable: run `make setup` first")
import sampling_caption  # noqa: E402  (needs caffe)
from prefinput.errors import UserError  # noqa: E402


@pytest.fixture(scope="module")
def flags(lrcn, shared_path):
    tiny = shared_path("fixtures", "tiny")
    classifier = tiny / "classifier"
    generator = tiny / "generator"
    paths = dict(lrcn, encoder_definition=f"{classifier}.prototxt", encoder_weights=f"{classifier}.caffemodel",
                 generator_definition=f"{generator}.prototxt", generator_weights=f"{generator}.caffemodel")
    return [item for key, value in paths.items() for item in (f"--{key}", value)]


def run_cli(repo, flags, cwd, *more):
    return subprocess.run([sys.executable, str(repo / "sampling_caption.py"), *flags, *more,
                           "--output_dir", str(cwd)], cwd=cwd, capture_output=True, text=True)


def test_words_become_vocabulary_indices_plus_one_then_end(lrcn):
    assert sampling_caption.words_to_numbers(lrcn["vocab_file"], ["a", "red", "car"]) == [2, 3, 4, 0]


def test_caption_chain_through_the_cli(repo, flags, tmp_path):
    result = run_cli(repo, flags, tmp_path, "--sentence", "a_red_car", "--n_iters", "3", "--lr", "1",
                     "--lr_end", "1e-10", "--epsilon1", "1e-3", "--epsilon3", "1e-17", "--save_every", "2",
                     "--save_raw")
    assert result.returncode == 0, result.stderr
    name = "fc8_0003_1.0_h_0.001_1.0_1e-17__0"
    assert (tmp_path / f"{name}.jpg").is_file()
    with np.load(tmp_path / f"{name}.npz") as raw:
        assert raw["image"].shape == (1, 3, 27, 27) and np.isfinite(raw["image"]).all()
        assert list(raw["sample_names"]) == ["00000.jpg", "00002.jpg"]
    assert "step: 0003\t a red car [" in result.stdout


def sentence_log_likelihood(net, lstm, image, sentence, batch):
    """sum_t log p(word_t | the words before it, the image's features), stream 0."""
    features = net.forward(data=image, end="fc8")["fc8"].copy()
    total = 0.0
    for idx, word in enumerate(sentence):
        previous = sentence[idx - 1] if idx > 0 else 0
        lstm.forward(image_features=np.repeat(features, batch, axis=0), cont_sentence=np.array([int(previous != 0)]),
                     input_sentence=np.array([previous]), end="log_prob")
        total += float(lstm.blobs["log_prob"].data[0, 0, word])
    return total


def test_caption_gradient_raises_the_sentence_likelihood(flags, lrcn_batch):
    args = sampling_caption.parse_args(flags + ["--sentence", "a_red_dog_on_the_road"])
    loaded = sampling_caption.load_nets(args)
    net, lstm = loaded.classifier, loaded.lstm
    condition = sampling_caption.caption_condition(args, net, lstm)
    sampler = sampling_caption.CaptionConditionalSampler(lstm)
    image = np.random.RandomState(0).normal(0, 40, (1, 3, 27, 27)).astype(np.float32)

    grad, prob, _ = sampler.forward_backward_from_x_to_condition(net, "fc8", image, condition)
    assert 0 < prob < 1 and np.abs(grad).sum() > 0
    assert not net.blobs["fc8"].diff.any() and not lstm.blobs["log_prob"].diff.any()

    # An ascent direction; not the exact gradient: like the original, each word's
    # backward stops at the current step of the LSTM (no backpropagation through time)
    step = 1e-2 / np.abs(grad).max()
    before = sentence_log_likelihood(net, lstm, image, condition["sentence"], lrcn_batch)
    after = sentence_log_likelihood(net, lstm, image + step * grad, condition["sentence"], lrcn_batch)
    assert after > before


def test_unknown_word_is_a_one_line_error_naming_it(repo, flags, tmp_path):
    result = run_cli(repo, flags, tmp_path, "--sentence", "a_red_zebra")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "'zebra' is not in the vocabulary" in result.stderr


def test_too_long_a_sentence_is_a_user_error(flags, lrcn_batch):
    args = sampling_caption.parse_args(flags + ["--sentence", "_".join(["a"] * lrcn_batch)])
    with pytest.raises(UserError, match="the sentence has 8 words; the captioner reads at most 7"):
        sampling_caption.load_nets(args)  # before any work
