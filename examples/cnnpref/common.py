"""What the eight cnnpref examples share: the nets, the target channels and
units, and the result files, as the original example scripts set them up.

Environment variables (all optional) point the examples elsewhere:
    NET                 alexnet (default) or vgg19: the CNN, from the nets registry
    NET_DEFINITION, NET_WEIGHTS   any other CNN (its layers must include LAYER)
    LAYER               the target layer (default conv1 / conv1_1 for the lower
                        layer examples, fc8 for the higher)
    OBJECTIVE           instead of LAYER's channels, one image raising a weighted sum
                        of units of one blob, e.g. "fc8:980 + fc8:470" (conv5:196@6,6:
                        at a position; conv5:196: a channel's mean; fc8:980 - 0.5*fc8:437)
    GENERATOR_DEFINITION, GENERATOR_WEIGHTS   the deep generator net (default:
                        settings, the fc6 inverting generator of Dosovitskiy & Brox)
    BOUND_FILE          upper bounds of the generator's code (default act_range/3x/fc6.txt)
    MEAN_FILE_NPY       the mean image whose channel means are subtracted
    N_ITERS             iterations (iter_n or maxiter) instead of the script's
    NUM_OF_IMG          how many channels, evenly spaced (default 25)
    RESULT_DIR          where each run's folder goes (default output/cnnpref/ in the repository)
    NETS_DIR            where the models live; PREFINPUT_OFFLINE=1: never download
"""
import argparse
import os
import pickle
import sys
from datetime import datetime

os.environ.setdefault("GLOG_minloglevel", "2")  # quiet Caffe, as the other programs do: a mistake is one line
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)  # run as a script from anywhere: cnnpref and prefinput live at the top

import prefinput  # noqa: E402,F401  before numpy loads: the goldens' numbers on every CPU (prefinput/cpu.py)
import numpy as np  # noqa: E402

from cnnpref._common import save_jpg, save_mat  # noqa: E402
from cnnpref.utils import clip_extreme_pixel, normalise_img  # noqa: E402
from harness import manifests  # noqa: E402
from prefinput import objectives  # noqa: E402
from prefinput.cli import ArgumentParser, downloads_sentence  # noqa: E402
from prefinput.environment import setting  # noqa: E402
from prefinput.errors import UserError  # noqa: E402
from prefinput.files import atomic_path, check_folder  # noqa: E402
from prefinput.netdefs import loading, modelcheck  # noqa: E402
from prefinput.registry import fetching  # noqa: E402
from prefinput.steps import input_blob, read_bounds  # noqa: E402

# the registry's copies of the original's nets: force_backward on, ReLUs out of place
CNNS = {
    "alexnet": ("alexnet/bvlc_alexnet.prototxt", "alexnet/bvlc_alexnet.caffemodel", "conv1"),
    "vgg19": ("vgg19/VGG_ILSVRC_19_layers.prototxt", "vgg19/VGG_ILSVRC_19_layers.caffemodel", "conv1_1"),
}
# the generator's code and image blobs in settings' generator (and the tiny one)
INPUT_LAYER_GEN = "feat"
OUTPUT_LAYER_GEN = "deconv0"


def cnn_files():
    """(definition, weights, lower target layer) of the CNN that NET, or
    NET_DEFINITION and NET_WEIGHTS, choose."""
    name = os.environ.get("NET", "alexnet")
    if name not in CNNS:
        raise UserError(f"NET={name} is not one of {', '.join(CNNS)}; or set NET_DEFINITION and NET_WEIGHTS")
    definition, weights, lower = CNNS[name]
    return (os.environ.get("NET_DEFINITION") or os.path.join(setting("nets_dir"), definition),
            os.environ.get("NET_WEIGHTS") or os.path.join(setting("nets_dir"), weights), lower)


def generator_files():
    """(definition, weights) of the deep generator net."""
    return setting("generator_definition"), setting("generator_weights")


def bound_file():
    return os.environ.get("BOUND_FILE") or os.path.join(setting("act_range_dir"), "3x", "fc6.txt")


def needed_files(with_generator):
    """Every file an example reads."""
    return [*cnn_files()[:2], setting("mean_file_npy")] + ([*generator_files(), bound_file()] if with_generator else [])


def require_files(with_generator):
    """Every file an example reads (fetched where missing), before any net is loaded."""
    fetching.require(needed_files(with_generator))


def epilog(with_generator):
    """The help's last words: the environment variables read, the models fetched."""
    return __doc__.split("\n\n", 1)[1] + "\n" + downloads_sentence(needed_files(with_generator))


def parse_args(script, description, with_generator, argv=None):
    """The examples take no arguments; --help says what they read and fetch,
    --list_blobs what LAYER and OBJECTIVE may name."""
    parser = ArgumentParser(prog=os.path.basename(script), description=description,
                            formatter_class=argparse.RawDescriptionHelpFormatter, epilog=epilog(with_generator))
    modelcheck.add_python_layer_flag(parser)
    parser.add_argument("--list_blobs", action="store_true", help="print the CNN's blobs with their shapes, and exit")
    if parser.parse_args(argv).list_blobs:
        definition = cnn_files()[0]
        fetching.require([definition])
        print(loading.blob_list(loading.load(definition, relu_out_of_place=True)))
        sys.exit(0)


def load_cnn(which):
    """(net, layer): the CNN as a caffe.Classifier taking one image, with the
    ImageNet mean colour and RGB -> BGR; `layer` is its lower ('lower') or
    higher ('higher') target layer, unless LAYER says otherwise."""
    definition, weights, _ = cnn_files()
    mean_file = setting("mean_file_npy")
    fetching.require([definition, weights, mean_file])
    img_mean = np.load(mean_file)
    img_mean = np.float32([img_mean[0].mean(), img_mean[1].mean(), img_mean[2].mean()])
    layer = target_layer(which)
    net = loading.classifier(definition, weights, mean=img_mean, channel_swap=(2, 1, 0), relu_out_of_place=True,
                             **loading.layer_outputs(definition, [layer]))
    data = input_blob(net)
    h, w = net.blobs[data].data.shape[-2:]
    net.blobs[data].reshape(1, 3, h, w)
    objectives.check_blob(net, layer, "LAYER=")
    return net, layer


def target_layer(which):
    """LAYER, else the CNN's lower ('lower') or higher ('higher') target layer."""
    return os.environ.get("LAYER") or {"lower": cnn_files()[2], "higher": "fc8"}[which]


def load_generator():
    definition, weights = generator_files()
    fetching.require([definition, weights])
    return loading.load(definition, weights)


def generator_upper_bound(net_gen):
    """The upper bound of each unit of the generator's code, in its shape."""
    path = bound_file()
    fetching.require([path])
    feat_size_gen = net_gen.blobs[INPUT_LAYER_GEN].data.shape[1:]
    num_of_unit = int(np.prod(feat_size_gen))
    return read_bounds(path, num_of_unit, "BOUND_FILE").reshape(feat_size_gen)


def objective():
    """OBJECTIVE, a weighted sum of units (prefinput.objectives), or None;
    read before any net is loaded, so a malformed sum is the one line."""
    text = os.environ.get("OBJECTIVE")
    return objectives.parse(text, "OBJECTIVE") if text else None


def objective_target(net, objective):
    """(layer, feature_mask, weight of each unit) of an OBJECTIVE: cnnpref's
    generate_image raises units of one layer, so its terms share one blob."""
    objective.check(net, "OBJECTIVE")
    names = sorted({term.name for term in objective.terms})
    if len(names) > 1:
        raise UserError(f"OBJECTIVE={objective}: cnnpref raises units of one layer, this sum has {', '.join(names)}; "
                        "keep its terms in one blob (act_max.py and cnn_vis.py --objective take several)")
    weights = objective.weights(net, names[0])
    return names[0], (weights != 0).astype(float), weights


def channel_list(net, layer):
    """NUM_OF_IMG (default 25) channels of `layer`, evenly spaced from 0."""
    num_of_ch = net.blobs[layer].data.shape[1]
    num_of_img = count_setting("NUM_OF_IMG", 25)
    return range(0, num_of_ch, max(1, num_of_ch // num_of_img))  # at least 1: nets with fewer channels


def channel_mask(net, layer, channel):
    """Every unit of `channel` (for fc layers: the one unit)."""
    feature_mask = np.zeros(net.blobs[layer].data.shape[1:])
    feature_mask[channel] = 1
    return feature_mask


def centre_unit_mask(net, layer, channel):
    """The unit of `channel` at the centre of the feature map."""
    feat_size = net.blobs[layer].data.shape[1:]
    feature_mask = np.zeros(feat_size)
    feature_mask[channel, feat_size[1] // 2, feat_size[2] // 2] = 1
    return feature_mask


def unit_weights(net, layer, weight):
    return np.full(net.blobs[layer].data.shape[1:], weight, dtype=np.float32)


def count_setting(name, default):
    """The environment variable `name` as a count of at least 1 (unset: `default`)."""
    text = os.environ.get(name)
    if text is None:
        return default
    if not text.strip().isdigit() or int(text) < 1:
        raise UserError(f"{name}={text}: expected a whole number of at least 1, e.g. {name}={default}")
    return int(text)


def iterations(default):
    return count_setting("N_ITERS", default)


def result_folder(script):
    """A new folder <RESULT_DIR>/<script name>_<timestamp>."""
    save_dir = os.environ.get("RESULT_DIR") or os.path.join(ROOT, "output", "cnnpref")
    name = os.path.splitext(os.path.basename(script))[0] + '_' + datetime.now().strftime('%Y%m%dT%H%M%S')
    save_path = os.path.join(save_dir, name)
    check_folder(save_dir, "RESULT_DIR")
    try:
        os.makedirs(save_path)
    except FileExistsError:
        raise UserError(f"{save_path} exists already; run again in a second") from None
    return save_path


def save_options(save_path, opts):
    with atomic_path(os.path.join(save_path, 'options.pkl')) as partial, open(partial, 'wb') as f:
        pickle.dump(opts, f)


def save_result(save_path, layer, channel, preferred_img, img_mask=None):
    """preferred_img_layer_<layer>_channel_<channel>.{mat,jpg}, and with
    img_mask, the image masked to the units' receptive field as
    preferred_img_masked_...; returns the .jpg."""
    suffix = '_layer_' + str(layer) + '_channel_' + str(channel)
    picture = normalise_img(clip_extreme_pixel(preferred_img, pct=0.04))
    save_mat(os.path.join(save_path, 'preferred_img' + suffix + '.mat'), preferred_img=preferred_img)
    save_jpg(os.path.join(save_path, 'preferred_img' + suffix + '.jpg'), picture)
    # cnnpref published no pictures: regression.py compares it with one given by --published
    manifests.write_picture_manifest(os.path.join(save_path, 'preferred_img' + suffix + '.jpg'), channel,
                                     picture.shape[:2], published=None)
    if img_mask is not None:
        save_mat(os.path.join(save_path, 'preferred_img_masked' + suffix + '.mat'),
                 preferred_img=preferred_img * img_mask)
        save_jpg(os.path.join(save_path, 'preferred_img_masked' + suffix + '.jpg'), picture * img_mask)
    return os.path.join(save_path, 'preferred_img' + suffix + '.jpg')
