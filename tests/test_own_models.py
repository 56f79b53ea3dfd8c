"""A user's own Caffe model, whatever its layers and blobs are called: the
tiny classifier with every layer and blob renamed (slashes in some names,
the input not called `data`) gives act_max.py and sampling_class.py the same
arrays as the original-named net."""
import os

import numpy as np
import pytest

caffe_pb2 = pytest.importorskip("caffe.proto.caffe_pb2", reason="pycaffe is not importable (run make setup)")
from google.protobuf import text_format  # noqa: E402

# original blob -> the user's name; layers get names of their own
BLOBS = {"data": "image", "conv1": "trunk/conv1", "pool1": "trunk/pool1", "conv2": "trunk/conv2",
         "conv3": "trunk/conv3", "conv4": "trunk/conv4", "conv5": "trunk/conv5", "pool5": "trunk/pool5",
         "fc6": "head/hidden1", "fc7": "head/hidden2", "fc8": "head/logits", "prob": "head/probabilities"}


def renamed(net):
    """The NetParameter `net` with every layer and blob renamed."""
    for layer in net.layer:
        layer.name = "layer " + layer.name.upper()
        layer.top[:] = [BLOBS[top] for top in layer.top]
        layer.bottom[:] = [BLOBS[bottom] for bottom in layer.bottom]
    return net


@pytest.fixture(scope="module")
def own_model(tiny, tmp_path_factory):
    """(prototxt, caffemodel) of the renamed tiny classifier."""
    definition, weights = tiny["classifier"]
    folder = tmp_path_factory.mktemp("own model")
    net = caffe_pb2.NetParameter()
    with open(definition) as f:
        text_format.Merge(f.read(), net)
    own_definition = folder / "my net.prototxt"
    own_definition.write_text(text_format.MessageToString(renamed(net)))
    trained = caffe_pb2.NetParameter()
    with open(weights, "rb") as f:
        trained.ParseFromString(f.read())
    own_weights = folder / "my net.caffemodel"
    own_weights.write_bytes(renamed(trained).SerializeToString())
    return str(own_definition), str(own_weights)


def raw_arrays(folder):
    """The one --save_raw .npz a run wrote below `folder`."""
    found = [os.path.join(top, name) for top, _, names in os.walk(folder) for name in names if name.endswith(".npz")]
    assert len(found) == 1, found
    with np.load(found[0]) as data:
        return {key: data[key] for key in data.files if key != "args"}


@pytest.fixture
def program(tiny, shared_path, tmp_path, monkeypatch, pinned_environment):
    """Run a program's main() in this process on the tiny generator with a
    classifier; returns the arrays it saved."""
    import act_max
    import sampling_class
    monkeypatch.setenv("PREFINPUT_OFFLINE", "1")
    generator = tiny["generator"]
    synsets = str(shared_path("reference", "ppgn", "misc", "synset_words.txt"))

    def run(name, classifier, *flags):
        folder = tmp_path / f"{name}-{len(os.listdir(tmp_path))}"
        nets = ["--net_definition", classifier[0], "--net_weights", classifier[1],
                "--generator_definition", generator[0], "--generator_weights", generator[1],
                "--encoder_definition", tiny["classifier"][0], "--encoder_weights", tiny["classifier"][1],
                "--output_dir", str(folder), "--save_raw"]
        if name == "act_max":
            act_max.main([*nets, "--n_iters", "4", "--L2", "0.99", "--start_lr", "8.0", "--end_lr", "1e-10",
                          *flags])
        else:
            sampling_class.main([*nets, "--n_iters", "4", "--lr", "1", "--epsilon1", "1e-5",
                                 "--epsilon3", "1e-17", "--save_every", "1", "--synset_file", synsets,
                                 *flags])
        return raw_arrays(folder)
    return run


@pytest.mark.parametrize("program_name, ours, theirs", [
    ("act_max", ["--act_layer", "fc8", "--unit", "3"], ["--act_layer", "head/logits", "--unit", "3"]),
    ("act_max", ["--act_layer", "conv5", "--unit", "2", "--xy", "1", "--clip", "1"],
     ["--act_layer", "trunk/conv5", "--unit", "2", "--xy", "1", "--clip", "1"]),
    ("act_max", ["--act_layer", "pool5", "--unit", "5", "--xy", "1"],
     ["--act_layer", "trunk/pool5", "--unit", "5", "--xy", "1"]),
    ("sampling_class", ["--act_layer", "fc8", "--units", "3_7"], ["--act_layer", "head/logits", "--units", "3_7"]),
    ("sampling_class", ["--act_layer", "conv5", "--units", "2", "--xy", "1"],
     ["--act_layer", "trunk/conv5", "--units", "2", "--xy", "1"]),
], ids=["act_max fc", "act_max conv at xy", "act_max pool5", "sampling_class fc", "sampling_class conv"])
def test_a_renamed_net_gives_the_same_arrays(program, tiny, own_model, program_name, ours, theirs):
    original = program(program_name, tiny["classifier"], *ours)
    own = program(program_name, own_model, *theirs)
    assert original.keys() == own.keys() and "image" in original
    for key in original:
        if key != "sample_names":
            assert original[key].size and np.isfinite(original[key]).all(), key
        assert np.array_equal(original[key], own[key]), key


def test_an_unknown_blob_is_one_line_listing_the_nets_blobs(program, own_model):
    from prefinput.cli import UserError
    with pytest.raises(UserError, match=r"--act_layer fc8: the net has no such blob; it has image, trunk/conv1, "):
        program("act_max", own_model, "--act_layer", "fc8", "--unit", "3")


def test_the_input_blob_cannot_be_activated(program, own_model):
    from prefinput.cli import UserError
    with pytest.raises(UserError, match=r"image: no layer of the net computes this blob \(it is an input\)"):
        program("act_max", own_model, "--act_layer", "image", "--unit", "0", "--xy", "0")
