"""What cnn_vis.py shows every output_iter steps: the progress print, the
image and pixel traces in matplotlib windows, and the raw arrays of the result."""
from collections import defaultdict

import numpy as np

from prefinput.errors import UserError

# The pixels whose values the original traced for iter_behavior=plot_pix.
TRACED_PIXELS = [(100, 100), (200, 200), (100, 200), (200, 100)]


def pyplot():
    """matplotlib.pyplot, or a UserError saying how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise UserError("--iter_behavior show and plot_pix need matplotlib; "
                        "install it with: .venv/bin/pip install matplotlib") from None
    return plt


def print_progress(net, img, img_region, cnn_grad, step, terms, weights, neuron=None):
    """The original's statistics of the last region updated and the image;
    `neuron` = (blob, unit) when a neuron is amplified."""
    print('p_loss: ', terms['p'][0])
    print('tv_loss: ', terms['tv'][0])
    if neuron is not None:
        print('mean neuron val: ', net.blobs[neuron[0]].data[:, neuron[1]].mean())
    print('mean p_grad: ', np.abs(weights['p'] * terms['p'][1]).mean())
    print('mean p_grad_aux: ', np.abs(weights['p_aux'] * terms['p_aux'][1]).mean())
    print('mean tv_grad: ', np.abs(weights['tv'] * terms['tv'][1]).mean())
    print('mean cnn_grad: ', np.abs(cnn_grad).mean())
    print('step mean, median: ', np.abs(step).mean(), np.median(np.abs(step)))
    print('image mean, std: ', img.mean(), img.std())
    with np.errstate(divide='ignore', invalid='ignore'):  # a pixel may be exactly 0
        print('mean step / val: ', np.mean(np.abs(step) / np.abs(img_region)))


class PixelHistory:
    """Values of a few pixels over the steps (those of TRACED_PIXELS inside the image)."""

    def __init__(self, shape):
        height, width = shape[2:]
        self.pixels = [(y, x) for y, x in TRACED_PIXELS if y < height and x < width]
        self.history = defaultdict(list)

    def record(self, img):
        for c in range(img.shape[1]):
            for y, x in self.pixels:
                self.history[(c, y, x)].append(img[0, c, y, x])

    def plot(self):
        plt = pyplot()
        for values in self.history.values():
            plt.plot(values)
        plt.show()


def show_image(img_uint, width, height):
    """Show the picture in a matplotlib window of width x height inches."""
    plt = pyplot()
    plt.imshow(img_uint, interpolation='none')
    plt.axis('off')
    plt.gcf().set_size_inches(width, height)
    plt.show()

