"""Load Caffe nets from their patched definitions (see prefinput.prototxt).

    net = nets.load(settings.net_definition, settings.net_weights)
    net = nets.load(definition, weights, relu_out_of_place=True)   # cnnpref

Missing files the registry provides are fetched first (prefinput.models.require),
so Caffe never aborts on a missing file.
"""
from prefinput import models, prototxt
from prefinput.cli import UserError, setting


def load(definition, weights=None, *, gpu=None, **patch_options):
    """caffe.Net in TEST phase from the patched copy of `definition`, with
    `weights` (None: random initial weights from the fillers); `gpu` as in
    set_mode."""
    import caffe
    models.require([p for p in (definition, weights) if p])
    set_mode(gpu)
    patched = prototxt.patch(definition, **patch_options)
    if weights:
        return caffe.Net(patched, caffe.TEST, weights=weights)
    return caffe.Net(patched, caffe.TEST)


def classifier(definition, weights, *, gpu=None, image_dims=None, mean=None, input_scale=None,
               raw_scale=None, channel_swap=None, **patch_options):
    """caffe.Classifier on the patched copy of `definition`, with the
    Classifier's own preprocessing arguments."""
    import caffe
    models.require([definition, weights])
    set_mode(gpu)
    patched = prototxt.patch(definition, **patch_options)
    return caffe.Classifier(patched, weights, image_dims=image_dims, mean=mean, input_scale=input_scale,
                            raw_scale=raw_scale, channel_swap=channel_swap)


def set_mode(gpu=None):
    """Caffe's CPU or GPU mode: `gpu` True/False, or None for settings.gpu
    (environment variable GPU: 1/0, true/false)."""
    import caffe
    if gpu is None:
        gpu = setting("gpu")
    if _truthy(gpu):
        if not prototxt.caffe_links("libcudart"):
            raise UserError("GPU mode asked for (--gpu, GPU or settings.gpu) but this Caffe is a CPU-only "
                            "build; build it with docker/build_caffe.sh --cuda, or run on the CPU")
        caffe.set_mode_gpu()
    else:
        caffe.set_mode_cpu()


def _truthy(value):
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
