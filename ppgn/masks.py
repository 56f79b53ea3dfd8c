"""Inpainting (the original's util.get_mask and its use): a hole at a random
place that the chain fills in, the rest of the image kept, and the two
images side by side."""
import numpy as np


# The original hard-codes these for 227x227 images; other sizes scale them.
ORIGINAL_SIZE = 227
HOLE_SIZE = 100          # util.get_mask: a 100x100 hole to fill in


def get_mask(shape):
    """The original's util.get_mask for a CxHxW image: `mask` is 1 in a
    square hole at a random place (two np.random.randint draws, left then
    top), `mask_neg` its complement.  The hole is 100x100 at 227x227 and
    scales with the image."""
    _, height, width = shape
    hole_h, hole_w = HOLE_SIZE * height // ORIGINAL_SIZE, HOLE_SIZE * width // ORIGINAL_SIZE
    left = np.random.randint(low=0, high=width - hole_w)
    top = np.random.randint(low=0, high=height - hole_h)
    mask = np.zeros(shape)
    mask[:, top:top + hole_h, left:left + hole_w] = 1
    return mask, 1 - mask


def apply_mask(img, mask, context):
    """Fill the hole of `context` with `img` (in place, like the original)."""
    img[0] *= mask
    img += context
    return img


def stitch(left, right):
    """Two 1x3xHxW images side by side, 1 white-ish column between them."""
    size = right.shape[2]
    output = np.full((1, 3, size, 2 * size + 1), 255.0)
    output[:, :, :size, :size] = left
    output[:, :, :, size + 1:] = right
    return output
