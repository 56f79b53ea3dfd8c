"""The encoder E (image -> code) and the generator G (code -> image) of the
PPGN samplers, and the code a chain starts from: a random one, or a real
image's."""
import numpy as np

from prefinput import objectives
from prefinput.image import read_rgb
from prefinput.netdefs import loading
from prefinput.steps import check_code_layers, check_covers, encode, read_image_for


def load_image_nets(encoder_definition, encoder_weights, generator_definition, generator_weights,
                    gen_in_layer, gen_out_layer, opt_layer, init_file=None):
    """The encoder E (image -> code) and the generator G (code -> image),
    which backpropagates to its input without weight gradients; the blobs
    named, the generator's image size and the start image are checked."""
    encoder = loading.load(encoder_definition, encoder_weights)
    generator = loading.load(generator_definition, generator_weights, weight_gradients=False)
    objectives.check_blob(generator, gen_in_layer, '--gen_in_layer', 'the generator')
    objectives.check_blob(generator, gen_out_layer, '--gen_out_layer', 'the generator')
    objectives.check_blob(encoder, opt_layer, '--opt_layer', 'the encoder')
    check_code_layers(generator, gen_in_layer, encoder, opt_layer)
    check_covers(generator, gen_out_layer, encoder, 'the encoder')
    if init_file:
        read_rgb(init_file, '--init_file')
    return encoder, generator


def normal_code(generator, gen_in_layer):
    """The original's random start: one draw of N(0, 1) in the code's shape (float64)."""
    return np.random.normal(0, 1, generator.blobs[gen_in_layer].data.shape)


def encode_image(encoder, path, layer, mean_file, mask=None):
    """The original's get_code: the encoder's `layer` code of the image at
    `path` (masked when given), and the image as the encoder saw it."""
    data = read_image_for(encoder, path, mean_file)
    if mask is not None:
        data *= mask
    return encode(encoder, data, layer), data
