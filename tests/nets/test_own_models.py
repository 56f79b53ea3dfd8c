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
    from prefinput.errors import UserError
    with pytest.raises(UserError, match=r"^--act_layer fc8: the net has no blob or layer of this name; "
                                         r"--list_blobs lists them$"):
        program("act_max", own_model, "--act_layer", "fc8", "--unit", "3")


def test_the_input_blob_cannot_be_activated(program, own_model):
    from prefinput.errors import UserError
    with pytest.raises(UserError, match=r"image: no layer of the net computes this blob \(it is an input\)"):
        program("act_max", own_model, "--act_layer", "image", "--unit", "0", "--xy", "0")


# --- a net of your own, built with caffe.NetSpec (docs/own-models.md) ----------------------------------

def own_resnet_block(folder):
    """(prototxt, caffemodel) of a ResNet-style net: a convolution whose
    BatchNorm, Scale and ReLU write in place (conv_1, bn_1, scale_1, relu_1),
    pooled, then a 2-class output and a second head (so Caffe splits pool_1);
    filler weights, BatchNorm's statistics set, saved as its caffemodel."""
    import caffe
    from caffe import layers as L, params as P
    n = caffe.NetSpec()
    n.image = L.Input(shape=dict(dim=[1, 3, 27, 27]))
    n.conv_1 = L.Convolution(n.image, num_output=8, kernel_size=5, stride=2,
                             weight_filler=dict(type="gaussian", std=0.05))
    n.bn_1 = L.BatchNorm(n.conv_1, in_place=True)
    n.scale_1 = L.Scale(n.conv_1, bias_term=True, in_place=True, filler=dict(type="constant", value=2),
                        bias_filler=dict(type="constant", value=-1))
    n.relu_1 = L.ReLU(n.conv_1, in_place=True)
    n.pool_1 = L.Pooling(n.conv_1, pool=P.Pooling.MAX, kernel_size=2, stride=2)
    n.logits = L.InnerProduct(n.pool_1, num_output=2, weight_filler=dict(type="gaussian", std=0.1))
    n.aux = L.InnerProduct(n.pool_1, num_output=3, weight_filler=dict(type="gaussian", std=0.1))
    definition = os.path.join(folder, "block.prototxt")
    with open(definition, "w") as f:
        f.write("force_backward: true\n" + str(n.to_proto()))
    net = caffe.Net(definition, caffe.TEST)
    mean, variance, factor = net.params["bn_1"]
    mean.data[...] = np.linspace(-1, 1, 8)
    variance.data[...] = np.linspace(0.5, 2, 8)
    factor.data[...] = 1
    weights = os.path.join(folder, "block.caffemodel")
    net.save(weights)
    return definition, weights


@pytest.fixture(scope="module")
def block(tmp_path_factory):
    return own_resnet_block(str(tmp_path_factory.mktemp("block")))


def act_max_args(tiny, block, folder, *flags):
    import act_max
    return act_max.parse_args([str(flag) for flag in (
        "--net_definition", block[0], "--net_weights", block[1], "--generator_definition", tiny["generator"][0],
        "--generator_weights", tiny["generator"][1], "--n_iters", 2, "--output_dir", folder, "--save_raw",
        *flags)])


def test_each_layer_of_an_in_place_chain_names_its_own_output(tiny, block, tmp_path, monkeypatch):
    import act_max
    import caffe
    monkeypatch.setenv("PREFINPUT_OFFLINE", "1")
    original = caffe.Net(*block, caffe.TEST)  # the chain as written: all four write conv_1
    values = {}
    for layer in ("conv_1", "bn_1", "scale_1", "relu_1"):
        args = act_max_args(tiny, block, tmp_path / layer, "--act_layer", layer, "--unit", 3, "--xy", 2)
        result, = act_max.visualise(args, act_max.load_nets(args))
        image = np.load(os.path.splitext(result.file)[0] + ".npz")["image"]
        original.forward(image=image, end=layer)  # the point in the net right after `layer`
        values[layer] = float(original.blobs["conv_1"].data[0, 3, 2, 2])
        assert result.activation == pytest.approx(values[layer], rel=1e-5, abs=1e-6), layer
        assert os.path.basename(result.file).startswith(layer + "_0003_")
    # the four points hold four different arrays (the ReLU's differs from the Scale's where it is negative)
    original.forward(image=np.random.RandomState(0).normal(0, 50, (1, 3, 27, 27)).astype(np.float32), end="conv_1")
    points = [original.blobs["conv_1"].data.copy()]
    for start, end in (("bn_1", "bn_1"), ("scale_1", "scale_1"), ("relu_1", "relu_1")):
        original.forward(start=start, end=end)
        points.append(original.blobs["conv_1"].data.copy())
    assert all(not np.array_equal(a, b) for i, a in enumerate(points) for b in points[i + 1:])


def test_an_objective_may_name_the_layers_of_the_chain(tiny, block, tmp_path, monkeypatch):
    import act_max
    monkeypatch.setenv("PREFINPUT_OFFLINE", "1")
    args = act_max_args(tiny, block, tmp_path, "--objective", "logits:1 - 0.5*bn_1:3 + relu_1:2@1,1")
    result, = act_max.visualise(args, act_max.load_nets(args))
    assert result.objective == "logits:1 - 0.5*bn_1:3 + relu_1:2@1,1" and np.isfinite(result.activation)


def test_list_blobs_shows_shapes_and_in_place_layers_without_split_blobs(tiny, block, tmp_path, capsys,
                                                                         monkeypatch):
    import act_max
    monkeypatch.setenv("PREFINPUT_OFFLINE", "1")
    act_max.main(["--list_blobs", "--net_definition", block[0], "--net_weights", block[1]])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines[:4]] == [["image", "3x27x27"], ["conv_1", "8x12x12"],
                                                         ["pool_1", "8x6x6"], ["logits", "2"]]
    assert "bn_1                             8x12x12  (layer bn_1, in place on conv_1: its output)" in lines
    assert not any("split" in line for line in lines) and max(map(len, lines)) < 100


def test_an_unknown_name_is_one_short_line_with_the_closest(tiny, block, tmp_path, monkeypatch):
    import act_max
    from prefinput.errors import UserError
    monkeypatch.setenv("PREFINPUT_OFFLINE", "1")
    args = act_max_args(tiny, block, tmp_path, "--act_layer", "bn1", "--unit", 0)
    with pytest.raises(UserError) as error:
        act_max.load_nets(args)
    assert str(error.value) == ("--act_layer bn1: the net has no blob or layer of this name; closest: bn_1; "
                                "--list_blobs lists them")


def test_sampling_without_a_label_file_labels_by_unit_number_and_says_so_once(tiny, block, tmp_path, shared_path,
                                                                               capsys, monkeypatch):
    import sampling_class
    monkeypatch.setenv("PREFINPUT_OFFLINE", "1")
    flags = ["--net_definition", block[0], "--net_weights", block[1], "--act_layer", "logits",
             "--encoder_definition", tiny["classifier"][0], "--encoder_weights", tiny["classifier"][1],
             "--generator_definition", tiny["generator"][0], "--generator_weights", tiny["generator"][1],
             "--mean_file_mat", str(shared_path("reference", "ppgn", "misc", "ilsvrc_2012_mean.mat")),
             "--synset_file", str(tmp_path / "no such labels.txt"), "--n_iters", "2", "--epsilon1", "1e-5",
             "--output_dir", str(tmp_path)]
    sampling_class.main(flags + ["--units", "1", "--save_every", "1", "--write_labels"])
    out = capsys.readouterr().out
    assert out.count("Labels by unit number:") == 1 and "no such labels.txt" in out
    assert len(os.listdir(tmp_path / "samples")) == 3
    sampling_class.main(flags + ["--units", "0", "--save_every", "0"])  # no samples: no labels asked for
    assert "Labels" not in capsys.readouterr().out
