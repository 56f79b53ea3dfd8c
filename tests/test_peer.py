"""bench/peer.py, the benchmark's PyTorch peer: built from a prototxt with
Caffe's weights, it computes Caffe's function (forward pass and input
gradient) and act_max.py's iteration on the tiny nets; a layer it does not
implement is one clear error."""
import numpy as np
import pytest

pytest.importorskip("caffe", reason="pycaffe is not importable (run make setup)")
torch = pytest.importorskip("torch", reason="torch is optional (pip install -r bench/requirements-peer.txt)")

from bench import peer  # noqa: E402
from prefinput import nets  # noqa: E402

# Largest |difference| allowed, relative to the largest |value| of Caffe's
# result: float32 rounding in another order (measured: about 1e-6)
TOLERANCE = 1e-5
BATCH = 3  # more than one item: the generator's Reshape must follow the batch


@pytest.mark.parametrize("name, data, output, scale", [("classifier", "data", "fc8", 50.0),
                                                       ("generator", "feat", "deconv0", 1.0)])
def test_forward_and_input_gradient_are_caffes(tiny, name, data, output, scale):
    definition, weights = tiny[name]
    net = nets.load(definition, weights)
    nets.set_batch(net, data, BATCH)
    twin = peer.load(definition, net)
    rng = np.random.RandomState(0)
    x = rng.normal(0, scale, net.blobs[data].data.shape).astype(np.float32)
    diff = rng.normal(0, 1, net.blobs[output].data.shape).astype(np.float32)

    net.blobs[data].data[...] = x
    net.forward(end=nets.layer_of(net, output))
    net.blobs[output].diff[...] = diff
    net.backward(start=nets.layer_of(net, output, last=True), diffs=[data])

    inputs = torch.tensor(x, requires_grad=True)
    outputs = twin({data: inputs}, end=output)[output]
    gradient, = torch.autograd.grad(outputs, inputs, torch.from_numpy(diff))
    assert peer.relative_difference(outputs.detach().numpy(), net.blobs[output].data) < TOLERANCE
    assert peer.relative_difference(gradient.numpy(), net.blobs[data].diff) < TOLERANCE


def test_one_iteration_is_act_maxs(tiny):
    """The peer's act_max_step moves each code as act_max.py's loop does
    (the step is as large as the code: a wrong gradient would show)."""
    import act_max
    net = nets.load(*tiny["classifier"], weight_gradients=False)
    generator = nets.load(*tiny["generator"], weight_gradients=False)
    units = [1, 7, 3]
    start = np.random.RandomState(0).normal(0, 1, (1, 64))
    upper, lower = act_max.load_bound(tiny["fc6_bound"], start.shape)
    params = [{"layer": "fc8", "iter_n": 1, "L2": 0.99, "start_step_size": 1.0, "end_step_size": 1.0}]
    _, acts, codes = act_max.activation_maximization(net, generator, "feat", "deconv0", start, params, units,
                                                     upper_bound=upper, lower_bound=lower)

    peer_codes, images, peer_acts, _, _ = peer.act_max_step(
        peer.load(tiny["generator"][0], generator), peer.load(tiny["classifier"][0], net), "feat", "deconv0",
        "fc8", torch.tensor(np.repeat(start, len(units), axis=0), dtype=torch.float32), units, 1.0,
        torch.tensor(upper, dtype=torch.float32), torch.tensor(lower, dtype=torch.float32), 0.99)
    assert images.shape == (len(units), 3, 27, 27)
    assert peer.relative_difference(peer_acts[range(len(units)), units].numpy(), np.array(acts)) < TOLERANCE
    assert peer.relative_difference(peer_codes.numpy(), codes) < TOLERANCE


def test_an_unknown_layer_is_one_clear_error(tiny, tmp_path):
    definition, weights = tiny["classifier"]
    net = nets.load(definition, weights)
    text = open(definition).read().replace('type: "ReLU"', 'type: "Sigmoid"', 1)
    changed = tmp_path / "classifier.prototxt"
    changed.write_text(text)
    with pytest.raises(peer.UnsupportedLayer, match=r"layer 'relu1' is a Sigmoid, which the peer does not "
                                                    r"implement \(it has Convolution, .*ReLU"):
        peer.load(str(changed), net)
