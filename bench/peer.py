"""The PyTorch peer: DGN-AM's iteration in PyTorch (CPU) on the same nets,
so that the benchmark can say how our Caffe compares with a modern framework.

    classifier = peer.load(definition, caffe_net)   # the net's forward pass in torch, Caffe's weights
    blobs = classifier({"data": images}, end="fc8")
    images, codes = peer.act_max(generator, classifier, "feat", "deconv0", start_code, params, units)

The modules are built from the Caffe prototxt, for the layer types the
benchmark's nets use (each with Caffe's semantics: Pooling's rounded-up
output size, LRN across channels, ReLU's negative_slope, Reshape's 0 and -1)
and a clear error for any other; the weights are copied from the loaded
caffe.Net.  So the peer computes the same function as Caffe, which
agreement() checks layer by layer on every benchmark run.  Optional: torch comes from
bench/requirements-peer.txt.
"""
import contextlib
import io

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from prefinput.errors import UserError
from prefinput.netdefs import prototxt
from prefinput.steps import centre_crop, schedule


class UnsupportedLayer(UserError):
    """A layer type, or a setting of one, that the peer does not implement."""


def use_threads(count):
    """Run torch's CPU kernels on `count` threads (the benchmark gives
    OpenBLAS's count, so that both frameworks use the same cores)."""
    torch.set_num_threads(count)


# --- the layers ----------------------------------------------------------------

def pair(param, name, default):
    """(h, w) of a convolution or pooling setting (kernel, stride, pad,
    dilation): `name`_h and `name`_w, or the one field (kernel_size for the
    kernel; repeated in ConvolutionParameter, one value in PoolingParameter),
    or `default`."""
    fields = param.DESCRIPTOR.fields_by_name
    if name + "_h" in fields and (param.HasField(name + "_h") or param.HasField(name + "_w")):
        return getattr(param, name + "_h"), getattr(param, name + "_w")
    field = "kernel_size" if name == "kernel" else name
    value = getattr(param, field)
    if isinstance(value, int):
        values = [value] if param.HasField(field) else []
    else:
        values = list(value)
    if len(values) > 2:
        raise UnsupportedLayer(f"{name}: {values}: the peer has 2-D convolutions and poolings only")
    return (values or [default])[0], (values or [default])[-1]


def convolution(layer, weights):
    """Caffe's Convolution (weights out x in/group x kh x kw, as torch's)."""
    param = layer.convolution_param
    check_axis(layer, param.axis, 1)
    module = nn.Conv2d(weights[0].shape[1] * param.group, param.num_output, pair(param, "kernel", 0),
                       stride=pair(param, "stride", 1), padding=pair(param, "pad", 0),
                       dilation=pair(param, "dilation", 1), groups=param.group, bias=len(weights) > 1)
    return with_weights(module, layer, weights)


def deconvolution(layer, weights):
    """Caffe's Deconvolution: the transposed convolution, weights in x
    out/group x kh x kw as torch's; output stride * (in - 1) + dilation *
    (kernel - 1) + 1 - 2 * pad, torch's without output_padding."""
    param = layer.convolution_param
    check_axis(layer, param.axis, 1)
    module = nn.ConvTranspose2d(weights[0].shape[0], param.num_output, pair(param, "kernel", 0),
                                stride=pair(param, "stride", 1), padding=pair(param, "pad", 0),
                                dilation=pair(param, "dilation", 1), groups=param.group, bias=len(weights) > 1)
    return with_weights(module, layer, weights)


class InnerProduct(nn.Module):
    """Caffe's InnerProduct: the input flattened from axis 1 times the
    weights (num_output x inputs, or inputs x num_output with `transpose`)."""

    def __init__(self, weight, bias, transpose):
        super().__init__()
        self.weight = nn.Parameter(weight.t() if transpose else weight, requires_grad=False)
        self.bias = None if bias is None else nn.Parameter(bias, requires_grad=False)

    def forward(self, x):
        return F.linear(x.flatten(1), self.weight, self.bias)


def inner_product(layer, weights):
    param = layer.inner_product_param
    check_axis(layer, param.axis, 1)
    return InnerProduct(weights[0], weights[1] if len(weights) > 1 else None, param.transpose)


class Pooling(nn.Module):
    """Caffe's MAX or AVE pooling.  Caffe rounds the output size up (and drops
    a last window that would start in the padding); torch's ceil_mode does the
    same, and its average divides by the window clipped to the padded input,
    as Caffe's does.  The output size is checked against Caffe's formula."""

    def __init__(self, pool, kernel, stride, pad):
        super().__init__()
        self.pool, self.kernel, self.stride, self.pad = pool, kernel, stride, pad

    def forward(self, x):
        if self.pool == "MAX":
            y = F.max_pool2d(x, self.kernel, self.stride, self.pad, ceil_mode=True)
        else:
            y = F.avg_pool2d(x, self.kernel, self.stride, self.pad, ceil_mode=True, count_include_pad=True)
        expected = tuple(caffe_pooled_size(*args) for args in zip(x.shape[2:], self.kernel, self.stride, self.pad))
        if tuple(y.shape[2:]) != expected:
            raise UnsupportedLayer(f"pooling {tuple(x.shape[2:])} gives {tuple(y.shape[2:])} in torch, "
                                   f"{expected} in Caffe")
        return y


def caffe_pooled_size(size, kernel, stride, pad):
    """Caffe's PoolingLayer::Reshape output size along one axis."""
    pooled = -(-(size + 2 * pad - kernel) // stride) + 1
    if pad and (pooled - 1) * stride >= size + pad:
        pooled -= 1
    return pooled


def pooling(layer, weights):
    param = layer.pooling_param
    pool = param.PoolMethod.Name(param.pool)
    if pool not in ("MAX", "AVE") or param.global_pooling:
        raise UnsupportedLayer(f"layer {layer.name!r}: {'global ' * param.global_pooling}{pool} pooling; the peer "
                               "has MAX and AVE pooling over a kernel")
    return Pooling(pool, pair(param, "kernel", 0), pair(param, "stride", 1), pair(param, "pad", 0))


def lrn(layer, weights):
    """Caffe's LRN across channels: x / (k + alpha / n * sum of x^2 over n
    channels centred on x)^beta, torch's local_response_norm for odd n (for
    even n the two centre the window differently)."""
    param = layer.lrn_param
    if param.norm_region != param.ACROSS_CHANNELS or param.local_size % 2 == 0:
        raise UnsupportedLayer(f"layer {layer.name!r}: the peer has LRN across an odd number of channels only")
    return nn.LocalResponseNorm(param.local_size, alpha=param.alpha, beta=param.beta, k=param.k)


def relu(layer, weights):
    """max(x, 0) + negative_slope * min(x, 0); gradient 1 above 0, the slope
    at 0 and below, as Caffe's."""
    slope = layer.relu_param.negative_slope
    return nn.LeakyReLU(slope) if slope else nn.ReLU()


class Reshape(nn.Module):
    """Caffe's Reshape of all axes: 0 copies the input's dimension, -1 is
    inferred."""

    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.reshape([x.shape[i] if d == 0 else d for i, d in enumerate(self.dims)])


def reshape(layer, weights):
    param = layer.reshape_param
    if param.axis != 0 or param.num_axes != -1:
        raise UnsupportedLayer(f"layer {layer.name!r}: the peer reshapes all axes only (axis 0, num_axes -1)")
    return Reshape(list(param.shape.dim))


def softmax(layer, weights):
    return nn.Softmax(dim=layer.softmax_param.axis)


class Scale(nn.Module):
    """Caffe's Scale with its scale (and bias) as weights: x times the
    weights along the axes from `axis` on, broadcast over the rest."""

    def __init__(self, weight, bias, axis):
        super().__init__()
        self.weight = nn.Parameter(weight, requires_grad=False)
        self.bias = None if bias is None else nn.Parameter(bias, requires_grad=False)
        self.axis = axis

    def forward(self, x):
        axis = self.axis % x.dim() if self.weight.dim() else 0
        shape = (1,) * axis + tuple(self.weight.shape) + (1,) * (x.dim() - axis - self.weight.dim())
        y = x * self.weight.reshape(shape)
        return y if self.bias is None else y + self.bias.reshape(shape)


def scale(layer, weights):
    if not weights:
        raise UnsupportedLayer(f"layer {layer.name!r}: the peer has Scale by its own weights only (one bottom)")
    return Scale(weights[0], weights[1] if len(weights) > 1 else None, layer.scale_param.axis)


class Power(nn.Module):
    """Caffe's Power: (shift + scale * x) ^ power."""

    def __init__(self, power, scale, shift):
        super().__init__()
        self.power, self.scale, self.shift = power, scale, shift

    def forward(self, x):
        return (self.shift + self.scale * x) ** self.power


def power(layer, weights):
    param = layer.power_param
    return Power(param.power, param.scale, param.shift)


def dropout(layer, weights):
    return nn.Identity()  # the TEST phase's Dropout passes its input through


WEIGHTED = ("Convolution", "Deconvolution", "InnerProduct")
LAYERS = {"Convolution": convolution, "Deconvolution": deconvolution, "InnerProduct": inner_product,
          "Pooling": pooling, "LRN": lrn, "ReLU": relu, "Reshape": reshape, "Softmax": softmax,
          "Scale": scale, "Power": power, "Dropout": dropout}


def check_axis(layer, axis, wanted):
    if axis != wanted:
        raise UnsupportedLayer(f"layer {layer.name!r}: axis {axis}; the peer has axis {wanted} only")


def with_weights(module, layer, weights):
    """`module` with Caffe's `weights` (its weight, then its bias) copied in, frozen."""
    for parameter, blob in zip(module.parameters(), weights):
        if parameter.shape != blob.shape:
            raise UnsupportedLayer(f"layer {layer.name!r}: weights {tuple(blob.shape)}, the peer's "
                                   f"{tuple(parameter.shape)}")
        parameter.data.copy_(blob)
    return module.requires_grad_(False)


# --- the net -----------------------------------------------------------------

class Net(nn.Module):
    """A Caffe net's TEST-phase forward pass in torch: its layers in order,
    each reading and writing named blobs as Caffe's do (in place too)."""

    def __init__(self, inputs, layers):
        super().__init__()
        self.inputs = inputs  # {blob: the definition's shape}
        self.names = [name for name, _, _, _ in layers]
        self.wiring = [(bottom, top) for _, bottom, top, _ in layers]
        self.layers = nn.ModuleList(module for _, _, _, module in layers)

    def forward(self, blobs, end=None):
        """{blob: tensor} of every blob after a pass from the input `blobs`
        ({name: tensor}); with `end`, up to the first layer that writes blob
        `end` (as act_max.py's forward to its layer)."""
        blobs = dict(blobs)
        for (bottom, top), module in zip(self.wiring, self.layers):
            blobs[top] = module(blobs[bottom])
            if top == end:
                break
        return blobs


def load(definition, caffe_net):
    """The peer of the net `definition` (a prototxt), with the weights of
    `caffe_net` (that definition, or a patched copy of it, loaded by Caffe)."""
    with open(definition) as f:
        net, _ = prototxt.parse(f.read(), definition)
    prototxt.flexible_reshapes(net)  # a Reshape's batch follows the input's, as our Caffe nets' do
    layers = []
    for layer in net.layer:
        if layer.type == "Input":
            continue
        if layer.type not in LAYERS:
            raise UnsupportedLayer(f"{definition}: layer {layer.name!r} is a {layer.type}, which the peer does not "
                                   f"implement (it has {', '.join(LAYERS)})")
        if len(layer.bottom) != 1 or len(layer.top) != 1 or layer.include or layer.exclude:
            raise UnsupportedLayer(f"{definition}: layer {layer.name!r}: the peer has layers of one bottom and one "
                                   "top, without phase rules")
        params = caffe_net.params[layer.name] if layer.name in caffe_net.params else []
        weights = [torch.from_numpy(np.array(blob.data, dtype=np.float32)) for blob in params]
        if layer.type in WEIGHTED and not weights:
            raise UserError(f"{definition}: the Caffe net has no weights for layer {layer.name!r}; give the net "
                            "loaded from this definition")
        layers.append((layer.name, layer.bottom[0], layer.top[0], LAYERS[layer.type](layer, weights)))
    return Net(input_shapes(net), layers)


def input_shapes(net):
    """{input blob: shape} of a NetParameter, whatever form its inputs take."""
    shapes = [list(net.input_dim[i:i + 4]) for i in range(0, len(net.input_dim), 4)]
    shapes += [list(shape.dim) for shape in net.input_shape]
    inputs = dict(zip(net.input, shapes))
    for layer in net.layer:
        if layer.type == "Input":
            inputs.update((top, list(shape.dim)) for top, shape in zip(layer.top, layer.input_param.shape))
    return inputs


# --- DGN-AM's iteration --------------------------------------------------------

def normalised_step(gradient, step_size):
    """Each item's step along its gradient, scaled so that its mean
    |component| is `step_size` (prefinput.steps.normalised_step, per item)."""
    mean = gradient.abs().flatten(1).mean(1).reshape((-1,) + (1,) * (gradient.dim() - 1))
    return step_size / mean * gradient


def unit_gradient(classifier, layer, images, units):
    """The classifier's `layer` output for the `images` (N x units) and the
    gradient of each image's own unit of `units` with respect to it."""
    data, = classifier.inputs
    images = images.detach().requires_grad_()
    with torch.enable_grad():
        acts = classifier({data: images}, end=layer)[layer]
        if acts.dim() != 2:
            raise UnsupportedLayer(f"{layer}: the peer raises units of a fully connected layer only (N x units)")
        gradient, = torch.autograd.grad(acts[torch.arange(len(units)), list(units)].sum(), images)
    return acts.detach(), gradient


def act_max_step(generator, classifier, code_blob, image_blob, layer, code, units, step_size, upper=None,
                 lower=None, L2=1.0):
    """One iteration of act_max.py for a batch of codes, one unit each: the
    generator's images, centre-cropped, through the classifier to `layer`;
    each image's normalised step along its unit's gradient; that step back
    through the generator to its code; the code's normalised step, its bounds
    and L2 decay.  Returns (the new codes, the cropped images, the layer's
    output, the image gradients, the code gradients); no graph outlives it
    and no weight gradient is computed (the weights need none)."""
    with torch.enable_grad():  # the generator's graph is kept for the second backward
        code = code.detach().requires_grad_()
        images = generator({code_blob: code}, end=image_blob)[image_blob]
    data, = classifier.inputs
    inside = centre_crop(images.shape, classifier.inputs[data])
    cropped = images[inside].detach()  # the classifier's gradient stops at its input, as in Caffe
    acts, image_gradient = unit_gradient(classifier, layer, cropped, units)
    with torch.no_grad():
        diff = torch.zeros_like(images)  # x - x0, computed as act_max.py does: (x0 + step) - x0
        diff[inside] = (cropped + normalised_step(image_gradient, step_size)) - cropped
    code_gradient, = torch.autograd.grad(images, code, diff)
    with torch.no_grad():
        code = code + normalised_step(code_gradient, step_size)
        if upper is not None:
            code = torch.minimum(torch.maximum(code, lower), upper)
        if 0 < L2 < 1:
            code *= L2
    return code, cropped, acts, image_gradient, code_gradient


def act_max(generator, classifier, code_blob, image_blob, start_code, params, units, upper_bound=None,
            lower_bound=None):
    """act_max.activation_maximization's loop on the peer nets, all units in
    one batch (a code each, from `start_code`), printing its progress line
    for each unit and step; without its early stop and its checks (for
    timing).  Returns the last cropped images (N x 3 x H x W) and the final
    codes, as numpy arrays."""
    code = torch.tensor(np.repeat(start_code, len(units), axis=0), dtype=torch.float32)
    upper, lower = (None, None) if upper_bound is None else (
        torch.tensor(upper_bound, dtype=torch.float32), torch.tensor(lower_bound, dtype=torch.float32))
    for o in params:
        for i in range(o["iter_n"]):
            step_size = schedule(o["start_step_size"], o["end_step_size"], i, o["iter_n"])
            code, images, acts, image_gradient, _ = act_max_step(
                generator, classifier, code_blob, image_blob, o["layer"], code, units, step_size, upper, lower,
                o["L2"])
            report(acts, units, image_gradient)
    return images.numpy(), code.numpy()


def report(acts, units, image_gradient):
    """act_max.py's progress line for each unit."""
    norms = image_gradient.flatten(1).norm(dim=1).tolist()
    values = acts.tolist()
    for b, unit in enumerate(units):
        best = int(np.argmax(values[b]))
        print("max: %4s [%.2f]\t obj: %4s [%.2f]\t norm: [%.2f]" % (best, values[b][best], unit, values[b][unit],
                                                                    norms[b]))


# --- the check against Caffe ---------------------------------------------------

def caffe_step(net, generator, code_blob, image_blob, layer, code, units, step_size):
    """act_max.py's first iteration on Caffe, by its own functions: {the
    cropped images, the classifier's `layer` output, the image gradients,
    the generator's diff x - x0, the code gradients} and the codes it
    started from (one per unit)."""
    import act_max as ours
    from prefinput import objectives
    from prefinput.netdefs import loading
    from prefinput.steps import input_blob
    data, running = input_blob(net), np.ones(len(units), dtype=bool)
    loading.set_batch(generator, code_blob, len(units))
    loading.set_batch(net, data, len(units))
    generator.blobs[code_blob].data[...] = code
    codes = generator.blobs[code_blob].data.copy()
    generator.forward()
    x0 = generator.blobs[image_blob].data.copy()
    inside = centre_crop(x0.shape, net.blobs[data].data.shape)
    with contextlib.redirect_stdout(io.StringIO()):
        ours.make_step_net(net, [objectives.unit(net, layer, unit) for unit in units], x0[inside].copy(),
                           step_size, running)
        acts, image_gradient = net.blobs[layer].data.copy(), net.blobs[data].diff.copy()
        updated = x0.copy()
        updated[inside] = net.blobs[data].data
        ours.make_step_generator(generator, updated, x0, code_blob, image_blob, step_size, running)
    return {"codes": codes, "images": x0[inside].copy(), "acts": acts, "image_gradient": image_gradient,
            "diff": updated - x0, "code_gradient": generator.blobs[code_blob].diff.copy()}


# Largest relative difference at which the peer computes Caffe's function (float32 rounding in another order: 1e-6)
AGREEMENT = 1e-4


def relative_difference(ours, theirs):
    """max |ours - theirs| / max |theirs|."""
    return float(np.abs(ours - theirs).max() / max(float(np.abs(theirs).max()), 1e-30))


def caffe_layers(net, inputs, output, output_diff):
    """What each layer of Caffe's `net` read and wrote in a forward pass from
    `inputs` ({blob: array}) to `output` and a backward pass from
    `output_diff` there, run one layer at a time: {layer: (bottom data, top
    data, top diff, bottom diff)}, lists of copies taken around the layer's
    own step (an in-place ReLU's input too, which its output overwrites)."""
    from prefinput.netdefs import loading
    for blob, value in inputs.items():
        net.blobs[blob].data[...] = value
    names = list(net._layer_names)
    end = names.index(loading.layer_of(net, output, last=True))

    def copies(blobs, field):
        return [getattr(net.blobs[blob], field).copy() for blob in blobs]

    forward = {}
    for i in range(end + 1):
        bottom = copies(net.bottom_names[names[i]], "data")
        net._forward(i, i)
        forward[names[i]] = bottom, copies(net.top_names[names[i]], "data")
    net.blobs[output].diff[...] = output_diff
    seen = {}
    for i in range(end, -1, -1):
        top = copies(net.top_names[names[i]], "diff")
        net._backward(i, i)
        seen[names[i]] = (*forward[names[i]], top, copies(net.bottom_names[names[i]], "diff"))
    return seen


def layer_differences(net, peer_net, inputs, output, output_diff):
    """{layer: (forward, backward)}: how far each peer layer's output and
    input gradient are from Caffe's layer's (relative difference), given
    what Caffe's layer read: its bottom data and its top diff (caffe_layers).
    Layer by layer, a rounding difference stays one; chained, it can tip a
    ReLU input that sits within rounding of 0 (see agreement).  A layer
    wired to other blobs than Caffe's differs infinitely."""
    caffe = caffe_layers(net, inputs, output, output_diff)
    differences = {}
    for name, wiring, module in zip(peer_net.names, peer_net.wiring, peer_net.layers):
        if name not in caffe:
            continue  # after `output`
        if wiring != (*net.bottom_names[name], *net.top_names[name]):
            differences[name] = (np.inf, np.inf)  # reads or writes another blob than Caffe's layer
            continue
        (bottom,), (top,), (top_diff,), (bottom_diff,) = caffe[name]
        x = torch.from_numpy(bottom).requires_grad_()
        with torch.enable_grad():
            y = module(x)
        gradient, = torch.autograd.grad(y, x, torch.from_numpy(top_diff))
        differences[name] = (relative_difference(y.detach().numpy(), top),
                             relative_difference(gradient.numpy(), bottom_diff))
    return differences


def relu_decisions(net, peer_net, peer_blobs):
    """{blob: how many outputs of its ReLU are above 0 in one of Caffe's
    `net` and the peer's `peer_blobs` (after the same forward pass) and not
    in the other}, for the blobs where there are any."""
    relus = {top for (_, top), module in zip(peer_net.wiring, peer_net.layers)
             if isinstance(module, (nn.ReLU, nn.LeakyReLU)) and top in peer_blobs}
    counts = {blob: int(((peer_blobs[blob].numpy() > 0) != (net.blobs[blob].data > 0)).sum()) for blob in relus}
    return {blob: count for blob, count in counts.items() if count}


def agreement(net, generator, peer_classifier, peer_generator, code_blob, image_blob, layer, code, units,
              step_size):
    """One line: how far the peer's nets are from Caffe's on the inputs of
    act_max.py's first iteration, all `units` at once.  The verdict is layer
    by layer (by_layer), each peer layer given what Caffe's layer read: the
    classifier's from Caffe's images, the generator's from the codes.  The
    end-to-end differences follow (end_to_end); those can be percents
    without any layer differing: a ReLU input within rounding of 0 (with the
    benchmark's random weights an fc7 unit's is -1.2e-6, against terms that
    sum to 29 in magnitude) falls on either side as the kernels round, in
    Caffe too (a random change of 1e-6 to 1e-5 in the image moved Caffe's
    own image gradient by 0.7% to 8% in 8 of 12 tries)."""
    caffe = caffe_step(net, generator, code_blob, image_blob, layer, code, units, step_size)
    data, = peer_classifier.inputs
    one_hot = np.zeros_like(caffe["acts"])
    one_hot[np.arange(len(units)), list(units)] = 1
    classifier = layer_differences(net, peer_classifier, {data: caffe["images"]}, layer, one_hot)
    generated = layer_differences(generator, peer_generator, {code_blob: caffe["codes"]}, image_blob, caffe["diff"])
    differences = {**{f"classifier {name}": pair for name, pair in classifier.items()},
                   **{f"generator {name}": pair for name, pair in generated.items()}}
    return (f"peer vs Caffe on the same inputs, {len(units)} units, {by_layer(differences)}; "
            f"{end_to_end(net, generator, peer_classifier, peer_generator, code_blob, image_blob, layer, units, caffe)}"
            f"; torch {torch.__version__}, {torch.get_num_threads()} threads")


def by_layer(differences):
    """The largest of layer_differences' figures, and the verdict: the same
    function when no layer's is over AGREEMENT."""
    worst = [max(differences, key=lambda name: differences[name][i]) for i in (0, 1)]
    verdict = "the same function" if max(max(pair) for pair in differences.values()) <= AGREEMENT else \
        f"NOT the same function (over {AGREEMENT:g}): its times are not comparable"
    return (f"layer by layer: relative difference {differences[worst[0]][0]:.1g} (output, {worst[0]}), "
            f"{differences[worst[1]][1]:.1g} (input gradient, {worst[1]}): {verdict}")


def end_to_end(net, generator, peer_classifier, peer_generator, code_blob, image_blob, layer, units, caffe):
    """How far the peer's classifier output, image gradients and code
    gradients are from Caffe's (`caffe`: caffe_step's), each net from
    Caffe's input; and the ReLUs that decided otherwise on the way."""
    data, = peer_classifier.inputs
    images = torch.from_numpy(caffe["images"])
    acts, image_gradient = unit_gradient(peer_classifier, layer, images, units)
    with torch.enable_grad():
        codes = torch.from_numpy(caffe["codes"]).requires_grad_()
        generated = peer_generator({code_blob: codes}, end=image_blob)
    code_gradient, = torch.autograd.grad(generated[image_blob], codes, torch.from_numpy(caffe["diff"]))
    with torch.no_grad():
        classified = peer_classifier({data: images}, end=layer)
    tipped = {**relu_decisions(net, peer_classifier, classified),
              **relu_decisions(generator, peer_generator, {blob: value.detach() for blob, value in generated.items()})}
    differences = {what: relative_difference(ours.numpy(), caffe[what]) for what, ours in (
        ("acts", acts), ("image_gradient", image_gradient), ("code_gradient", code_gradient))}
    return (f"end to end: {differences['acts']:.1g} ({layer}), {differences['image_gradient']:.1g} (image "
            f"gradient), {differences['code_gradient']:.1g} (code gradient)" + (
                " (ReLU outputs on the other side of 0: " + ", ".join(
                    f"{count} of {blob}" for blob, count in tipped.items()) + ")" if tipped else ""))
