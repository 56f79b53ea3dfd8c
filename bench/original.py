"""The baselines: the original programs' loops, operation for operation.

`act_max` is the loop of the original act_max.py (Evolving-AI-Lab/synthesizing)
and `ppgn` the loop of the original sampler.py (Evolving-AI-Lab/ppgn) with
ClassConditionalSampler's objective, rewritten for Python 3 and nothing else:
the same Caffe calls, the same array copies, nets with force_backward (so
Caffe computes every weight gradient too).  Run as a program, this file is
one run of the original act_max.py: it loads both nets, optimises one unit
and saves its image, as each step of the original example scripts did.
"""
import os
os.environ.setdefault("GLOG_minloglevel", "2")

import argparse
import math
import sys

import numpy as np
from numpy.linalg import norm

FC_LAYERS = ["fc6", "fc7", "fc8", "loss3/classifier", "fc1000", "prob"]


# --- act_max.py -------------------------------------------------------------

def make_step_generator(net, x, x0, start, end, step_size=1):
    src = net.blobs[start]
    dst = net.blobs[end]
    net.blobs[end].diff[...] = (x - x0)
    net.backward(start=end)
    g = net.blobs[start].diff.copy()
    grad_norm = norm(g)
    dst.diff.fill(0.)
    if math.isnan(grad_norm):
        return 1e-12, src.data[:].copy()
    elif grad_norm == 0:
        return 0, src.data[:].copy()
    src.data[:] += step_size / np.abs(g).mean() * g
    return grad_norm, src.data[:].copy()


def make_step_net(net, end, unit, image, xy=0, step_size=1):
    src = net.blobs["data"]
    dst = net.blobs[end]
    acts = net.forward(data=image, end=end)
    one_hot = np.zeros_like(dst.data)
    if end in FC_LAYERS:
        one_hot.flat[unit] = 1.
    else:
        one_hot[:, unit, xy, xy] = 1.
    dst.diff[:] = one_hot
    diffs = net.backward(start=end, diffs=["data"])
    g = diffs["data"][0]
    grad_norm = norm(g)
    obj_act = 0
    dst.diff.fill(0.)
    if math.isnan(grad_norm):
        return 1e-12, src.data[:].copy(), obj_act
    elif grad_norm == 0:
        return 0, src.data[:].copy(), obj_act
    fc = acts[end][0] if end in FC_LAYERS else acts[end][0, :, xy, xy]
    best_unit = fc.argmax()
    obj_act = fc[unit]
    print("max: %4s [%.2f]\t obj: %4s [%.2f]\t norm: [%.2f]" % (best_unit, fc[best_unit], unit, obj_act, grad_norm))
    src.data[:] += step_size / np.abs(g).mean() * g
    return (grad_norm, src.data[:].copy(), obj_act)


def act_max(net, generator, start_code, params, unit, xy=0, clip=False, upper_bound=None, lower_bound=None,
            gen_in_layer="feat", gen_out_layer="deconv0"):
    """activation_maximization() of the original (without --debug)."""
    image_size = net.blobs["data"].data.shape[2:]
    output_size = generator.blobs[gen_out_layer].data.shape[2:]
    topleft = ((output_size[0] - image_size[0]) // 2, (output_size[1] - image_size[1]) // 2)
    src = generator.blobs[gen_in_layer]
    src.data[:] = start_code.copy()[:]
    best_xx = np.zeros(image_size)[np.newaxis]
    for o in params:
        layer = o["layer"]
        for i in range(o["iter_n"]):
            step_size = o["start_step_size"] + ((o["end_step_size"] - o["start_step_size"]) * i) / o["iter_n"]
            generated = generator.forward(feat=src.data[:])
            x0 = generated[gen_out_layer]
            cropped_x0 = x0.copy()[:, :, topleft[0]:topleft[0] + image_size[0], topleft[1]:topleft[1] + image_size[1]]
            grad_norm_net, x, act = make_step_net(net=net, end=layer, unit=unit, image=cropped_x0, xy=xy,
                                                  step_size=step_size)
            best_xx = cropped_x0.copy()
            updated_x0 = x0.copy()
            updated_x0[:, :, topleft[0]:topleft[0] + image_size[0], topleft[1]:topleft[1] + image_size[1]] = x.copy()
            grad_norm_generator, updated_code = make_step_generator(net=generator, x=updated_x0, x0=x0,
                                                                    start=gen_in_layer, end=gen_out_layer,
                                                                    step_size=step_size)
            if clip:
                updated_code = np.clip(updated_code, a_min=-1, a_max=1)
            elif upper_bound is not None:
                updated_code = np.maximum(updated_code, lower_bound)
                updated_code = np.minimum(updated_code, upper_bound)
            if o["L2"] > 0 and o["L2"] < 1:
                updated_code[:] *= o["L2"]
            src.data[:] = updated_code
            if grad_norm_generator == 0 or grad_norm_net == 0:
                break
    return best_xx


# --- ppgn sampler.py + sampling_class.py ------------------------------------

def h_autoencoder_grad(h, encoder, decoder, gen_out_layer, topleft):
    encoder.forward(feat=h)
    x = encoder.blobs[gen_out_layer].data.copy()
    image_size = decoder.blobs["data"].shape
    cropped_x = x[:, :, topleft[0]:topleft[0] + image_size[2], topleft[1]:topleft[1] + image_size[3]]
    decoder.forward(data=cropped_x)
    code = decoder.blobs["fc6"].data
    return code - h


def forward_backward_from_x_to_condition(net, end, image, unit):
    dst = net.blobs[end]
    acts = net.forward(data=image, end=end)
    one_hot = np.zeros_like(dst.data)
    layer_acts = acts[end][0]
    best_unit = layer_acts.argmax()
    exp_acts = np.exp(layer_acts - np.max(layer_acts))
    probs = exp_acts / (1e-10 + np.sum(exp_acts, keepdims=True))
    softmax_grad = 1 - probs.copy()
    obj_prob = probs.flat[unit]
    one_hot.flat[unit] = softmax_grad[unit]
    dst.diff[:] = one_hot
    diffs = net.backward(start=end, diffs=["data"])
    g = diffs["data"].copy()
    dst.diff.fill(0.)
    return g, obj_prob, {"best_unit": best_unit, "best_unit_prob": probs.flat[best_unit]}


def backward_from_x_to_h(generator, diff, start, end):
    dst = generator.blobs[end]
    dst.diff[...] = diff
    generator.backward(start=end)
    g = generator.blobs[start].diff.copy()
    dst.diff.fill(0.)
    return g


def ppgn(condition_net, image_encoder, image_generator, start_code, n_iters, unit, lr=1.0, lr_end=1.0,
         epsilon1=1e-5, epsilon2=1.0, epsilon3=1e-17, layer="fc8", gen_in_layer="feat", gen_out_layer="deconv0"):
    """Sampler.sampling() of the original for one class condition (fc
    layer, no inpainting, no reset, every sample kept): n_iters + 1 steps."""
    image_size = condition_net.blobs["data"].data.shape[2:]
    generator_output_size = image_generator.blobs[gen_out_layer].data.shape[2:]
    encoder_input_size = image_encoder.blobs["data"].data.shape[2:]
    topleft = ((generator_output_size[0] - image_size[0]) // 2, (generator_output_size[1] - image_size[1]) // 2)
    topleft_DAE = ((generator_output_size[0] - encoder_input_size[0]) // 2,
                   (generator_output_size[1] - encoder_input_size[1]) // 2)
    h = start_code.copy()
    list_samples = []
    i = 0
    while True:
        step_size = lr + ((lr_end - lr) * i) / n_iters
        d_prior = h_autoencoder_grad(h=h, encoder=image_generator, decoder=image_encoder,
                                     gen_out_layer=gen_out_layer, topleft=topleft_DAE)
        image_generator.blobs["feat"].data[:] = h
        generated = image_generator.forward()
        x = generated[gen_out_layer].copy()
        cropped_x = x[:, :, topleft[0]:topleft[0] + image_size[0], topleft[1]:topleft[1] + image_size[1]]
        d_condition_x, prob, info = forward_backward_from_x_to_condition(condition_net, layer, cropped_x, unit)
        d_condition_x256 = np.zeros_like(x)
        d_condition_x256[:, :, topleft[0]:topleft[0] + image_size[0], topleft[1]:topleft[1] + image_size[1]] = \
            d_condition_x.copy()
        d_condition = backward_from_x_to_h(image_generator, d_condition_x256, gen_in_layer, gen_out_layer)
        print("step: %04d\t max: %4s [%.2f]\t obj: %4s [%.2f]\t norm: [%.2f]" % (
            i, info["best_unit"], info["best_unit_prob"], unit, prob, norm(d_condition)))
        noise = np.zeros_like(h)
        if epsilon3 > 0:
            noise = np.random.normal(0, epsilon3, h.shape)
        d_h = epsilon1 * d_prior + epsilon2 * d_condition + noise
        h += step_size / np.abs(d_h).mean() * d_h
        h = np.clip(h, a_min=0, a_max=30)
        last_xx = cropped_x.copy()
        list_samples.append(last_xx.copy())
        if norm(d_h) == 0 or (i > 0 and i % n_iters == 0):
            break
        i += 1
    return last_xx, list_samples


# --- one run of the original act_max.py ------------------------------------

def load_nets(net_definition, net_weights, generator_definition, generator_weights):
    """As the original: caffe.Net for the generator, caffe.Classifier for the
    net (the definitions are the reference prototxts, patched by the caller
    only where our Caffe needs it); the weights checked first, as ours are."""
    import caffe
    from prefinput.netdefs import modelcheck
    modelcheck.check(generator_definition, generator_weights)
    modelcheck.check(net_definition, net_weights)
    generator = caffe.Net(generator_definition, generator_weights, caffe.TEST)
    net = caffe.Classifier(net_definition, net_weights, mean=np.float32([104.0, 117.0, 123.0]),
                           channel_swap=(2, 1, 0))
    return net, generator


def main(argv=None):
    parser = argparse.ArgumentParser(description="one run of the original act_max.py (the benchmark's baseline)")
    parser.add_argument("--unit", type=int, required=True)
    parser.add_argument("--n_iters", type=int, default=10)
    parser.add_argument("--L2", type=float, default=0.99)
    parser.add_argument("--start_lr", type=float, default=8.0)
    parser.add_argument("--end_lr", type=float, default=1e-10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--act_layer", default="fc8")
    parser.add_argument("--bound", required=True)
    parser.add_argument("--output_dir", required=True)
    for name in ("net_definition", "net_weights", "generator_definition", "generator_weights"):
        parser.add_argument("--" + name, required=True)
    args = parser.parse_args(argv)
    params = [{"layer": args.act_layer, "iter_n": args.n_iters, "L2": args.L2,
               "start_step_size": args.start_lr, "end_step_size": args.end_lr}]
    net, generator = load_nets(args.net_definition, args.net_weights, args.generator_definition,
                               args.generator_weights)
    shape = generator.blobs["feat"].data.shape
    np.random.seed(args.seed)
    start_code = np.random.normal(0, 1, shape)
    upper_bound = np.loadtxt(args.bound, delimiter=" ", usecols=np.arange(0, shape[1]), unpack=True)
    upper_bound = upper_bound.reshape(start_code.shape)
    lower_bound = np.zeros(start_code.shape)
    image = act_max(net, generator, start_code, params, args.unit, upper_bound=upper_bound, lower_bound=lower_bound)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from prefinput.image import save_image
    name = "%s/%s_%04d.jpg" % (args.output_dir, args.act_layer, args.unit)
    save_image(image, name)
    np.savez(name[:-len(".jpg")] + ".npz", image=image)  # for the benchmark's comparison


if __name__ == "__main__":
    main()
