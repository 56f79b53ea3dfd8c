"""What makes the faithful mode faster keeps its numbers: nets without weight
gradients give bit-identical input gradients, the PPGN encoder stops at its
code, and the benchmark's baselines (the original loops, operation for
operation) equal our loops exactly."""
import contextlib
import io

import numpy as np
import pytest

caffe = pytest.importorskip("caffe", reason="pycaffe is not importable (run make setup)")
from caffe import layers as L  # noqa: E402

from bench import measure, original  # noqa: E402
from ppgn import chains  # noqa: E402
from prefinput.netdefs import loading, prototxt  # noqa: E402

GAUSSIAN = dict(type="gaussian", std=0.5)
ONE = dict(type="constant", value=1)  # biases that keep most ReLUs open


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    caffe.set_mode_cpu()
    caffe.set_random_seed(0)


def classifier():
    """data -> conv -> in-place ReLU -> pool -> fc -> in-place ReLU -> out, force_backward."""
    n = caffe.NetSpec()
    n.data = L.Input(shape=dict(dim=[2, 3, 9, 9]))
    n.conv1 = L.Convolution(n.data, num_output=4, kernel_size=3, weight_filler=GAUSSIAN, bias_filler=ONE)
    n.relu1 = L.ReLU(n.conv1, in_place=True)
    n.pool1 = L.Pooling(n.relu1, kernel_size=2, stride=2)
    n.fc6 = L.InnerProduct(n.pool1, num_output=6, weight_filler=GAUSSIAN, bias_filler=ONE)
    n.relu6 = L.ReLU(n.fc6, in_place=True)
    n.fc8 = L.InnerProduct(n.relu6, num_output=3, weight_filler=GAUSSIAN)
    net = n.to_proto()
    net.force_backward = True
    return net


def generator():
    """feat (an `input:` field) -> fc -> leaky ReLU -> Reshape -> Deconvolution, as the upconv generators."""
    n = caffe.NetSpec()
    n.defc = L.InnerProduct(bottom="feat", num_output=8 * 2 * 2, weight_filler=GAUSSIAN, bias_filler=ONE)
    n.relu = L.ReLU(n.defc, in_place=True, negative_slope=0.3)
    n.reshape = L.Reshape(n.relu, shape=dict(dim=[1, 8, 2, 2]))
    n.deconv0 = L.Deconvolution(n.reshape, convolution_param=dict(num_output=3, kernel_size=4, stride=2, pad=1,
                                                                  weight_filler=GAUSSIAN))
    net = n.to_proto()
    net.input.append("feat")
    net.input_shape.add().dim.extend([1, 5])
    net.force_backward = True
    return net


def both_ways(tmp_path, net_param, name):
    """The net patched as before (force_backward) and without weight
    gradients, with the same weights."""
    src = tmp_path / f"{name}.prototxt"
    src.write_text(str(net_param))
    weights = str(tmp_path / f"{name}.caffemodel")
    caffe.Net(prototxt.patch(src), caffe.TEST).save(weights)
    return loading.load(src, weights), loading.load(src, weights, weight_gradients=False)


@pytest.mark.parametrize("make, bottom, top", [(classifier, "data", "fc8"), (generator, "feat", "deconv0")])
def test_without_weight_gradients_the_input_gradient_is_bit_identical(tmp_path, make, bottom, top):
    gradients = []
    for net in both_ways(tmp_path, make(), make.__name__):
        net.blobs[bottom].data[...] = np.random.RandomState(0).randn(*net.blobs[bottom].data.shape)
        net.forward()
        net.blobs[top].diff[...] = np.random.RandomState(1).randn(*net.blobs[top].data.shape)
        net.backward(start=top)
        gradients.append((net.blobs[bottom].diff.copy(), {name: p[0].diff.copy() for name, p in net.params.items()}))
    (with_weights, weight_diffs), (without, no_weight_diffs) = gradients
    assert np.abs(with_weights).max() > 0 and np.array_equal(with_weights, without)
    assert all(np.abs(diff).max() > 0 for diff in weight_diffs.values())  # force_backward computes them...
    assert not any(no_weight_diffs[name].any() for name in weight_diffs)  # ...the patch does not


def test_the_patched_copy_says_how_the_weight_gradients_were_turned_off(tmp_path):
    src = tmp_path / "classifier.prototxt"
    src.write_text(str(classifier()))
    header = [line for line in open(prototxt.patch(src, weight_gradients=False)) if line.startswith("# -")]
    assert [line.split(":")[0] for line in header] == [
        "# - force_backward off", "# - lr_mult 0 (no weight gradient)", "# - identity Scale data_gradient on input data",
        "# - loss_weight 1 on output fc8"]


def test_the_encoder_runs_only_up_to_the_last_layer_that_writes_the_code(tmp_path):
    encoder, _ = both_ways(tmp_path, classifier(), "encoder")
    assert loading.layer_of(encoder, "fc6", last=True) == "relu6" and loading.layer_of(encoder, "pool1", last=True) == "pool1"
    encoder.blobs["data"].data[...] = np.random.RandomState(0).randn(*encoder.blobs["data"].data.shape)
    encoder.forward()
    whole = encoder.blobs["fc6"].data.copy()
    encoder.blobs["fc8"].data[...] = 0
    encoder.forward(end=loading.layer_of(encoder, "fc6", last=True))
    assert np.array_equal(encoder.blobs["fc6"].data, whole) and not encoder.blobs["fc8"].data.any()


def test_layer_flops_count_two_per_multiply_add(tmp_path):
    net, _ = both_ways(tmp_path, classifier(), "flops")
    flops = measure.layer_flops(net)
    assert flops == {"conv1": 2 * (4 * 3 * 3 * 3) * (2 * 7 * 7), "fc6": 2 * (6 * 4 * 4 * 4) * 2,
                     "fc8": 2 * (3 * 6) * 2}
    assert measure.layer_flops(net, "fc6").keys() == {"conv1", "fc6"}


def test_the_benchmarks_original_loop_equals_act_max_exactly(tiny):
    import act_max
    generators = [loading.load(*tiny["generator"]), loading.load(*tiny["generator"], weight_gradients=False)]
    classifiers = [original.load_nets(prototxt.patch(tiny["classifier"][0]), tiny["classifier"][1],
                                      prototxt.patch(tiny["generator"][0]), tiny["generator"][1])[0],
                   loading.classifier(*tiny["classifier"], mean=loading.CLASSIFIER_MEAN, channel_swap=(2, 1, 0),
                                      weight_gradients=False)]
    shape = generators[0].blobs["feat"].data.shape
    upper, lower = act_max.load_bound(tiny["fc6_bound"], shape)
    start = np.random.RandomState(0).normal(0, 1, shape)
    params = [{"layer": "fc8", "iter_n": 4, "L2": 0.99, "start_step_size": 8.0, "end_step_size": 1e-10}]
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        ours, _, _ = act_max.activation_maximization(classifiers[1], generators[1], "feat", "deconv0", start,
                                                     params, [3], upper_bound=upper, lower_bound=lower)
        theirs = original.act_max(classifiers[0], generators[0], start, params, 3, upper_bound=upper,
                                  lower_bound=lower)
    assert printed.getvalue().count("max:") == 8
    assert np.array_equal(ours[0], theirs)
    assert np.array_equal(generators[0].blobs["feat"].data, generators[1].blobs["feat"].data)


def test_the_benchmarks_original_ppgn_loop_equals_the_sampler_exactly(tmp_path, tiny):
    from sampling_class import ClassConditionalSampler
    synsets = tmp_path / "synsets.txt"
    synsets.write_text("".join(f"n{unit:08d} class {unit}\n" for unit in range(10)))
    theirs_nets = (loading.load(*tiny["classifier"]), loading.load(*tiny["classifier"]), loading.load(*tiny["generator"]))
    ours_nets = (loading.load(*tiny["classifier"], weight_gradients=False), loading.load(*tiny["classifier"]),
                 loading.load(*tiny["generator"], weight_gradients=False))
    start = np.random.RandomState(0).normal(0, 1, theirs_nets[2].blobs["feat"].data.shape)
    settings = dict(lr=1.0, lr_end=1.0, epsilon1=1e-5, epsilon2=1.0, epsilon3=1e-3)
    with contextlib.redirect_stdout(io.StringIO()):
        np.random.seed(0)
        theirs, their_samples = original.ppgn(*theirs_nets, start, 3, 7, **settings)
        np.random.seed(0)
        with chains.kept_samples(str(tmp_path), save_every=1, write_labels=False, keep_images=True) as chain:
            ours, our_samples = ClassConditionalSampler(str(synsets)).sampling(
                *ours_nets, "feat", "deconv0", start, 3, threshold=-1.0, layer="fc8",
                conditions=[{"unit": 7, "xy": 0}], chain=chain, **settings)
    assert len(our_samples) == len(their_samples) == 4
    assert np.array_equal(ours, theirs)
    assert all(np.array_equal(ours.image, theirs) for ours, theirs in zip(our_samples, their_samples))
