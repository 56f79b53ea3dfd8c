"""Image files as the original programs saw them through SciPy <= 1.1's
`scipy.misc` (removed since), rebuilt on Pillow with the same arithmetic.

The one surprise worth knowing: saving or resizing a *float* array stretches
its own min..max to 0..255 (`bytescale`), whatever range it was clipped to.
"""
import os
import struct
import warnings
import zlib

import numpy as np
from PIL import Image

from prefinput.errors import UserError
from prefinput.files import atomic_path

RESAMPLE = {"nearest": Image.NEAREST, "lanczos": Image.LANCZOS, "bilinear": Image.BILINEAR,
            "bicubic": Image.BICUBIC, "cubic": Image.BICUBIC}


def bytescale(data, cmin=None, cmax=None, high=255, low=0):
    """Map data linearly from [cmin, cmax] (default: its own min and max) to
    [low, high] and round to uint8; uint8 data is returned unchanged."""
    data = np.asarray(data)
    if data.dtype == np.uint8:
        return data
    if not 0 <= low <= high <= 255:
        raise ValueError("bytescale needs 0 <= low <= high <= 255")
    cmin = data.min() if cmin is None else cmin
    cmax = data.max() if cmax is None else cmax
    cscale = cmax - cmin
    if cscale < 0:
        raise ValueError("bytescale needs cmax >= cmin")
    if cscale == 0:
        cscale = 1
    scale = float(high - low) / cscale
    scaled = (data - cmin) * scale + low
    return (scaled.clip(low, high) + 0.5).astype(np.uint8)


def _channel_axis(shape):
    for channels in (3, 4):
        if channels in shape:
            return shape.index(channels)
    raise ValueError(f"no channel axis of length 3 or 4 in an image of shape {shape}")


def toimage(arr, channel_axis=None):
    """A Pillow image of a 2-D (grey) or 3-D (RGB/RGBA) array; the channel
    axis is the first of length 3 (else 4) unless given."""
    data = np.asarray(arr)
    if data.ndim == 2:
        return Image.fromarray(bytescale(data), "L")
    if data.ndim != 3:
        raise ValueError(f"an image must be 2-D or 3-D, not of shape {data.shape}")
    axis = _channel_axis(data.shape) if channel_axis is None else channel_axis
    channels = data.shape[axis]
    if channels not in (3, 4):
        raise ValueError(f"an image needs 3 or 4 channels, not {channels}")
    pixels = np.moveaxis(bytescale(data), axis, 2)
    return Image.fromarray(np.ascontiguousarray(pixels), "RGB" if channels == 3 else "RGBA")


def fromimage(image):
    """The array of a Pillow image; palette images become RGB(A), bilevel grey."""
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode == "1":
        image = image.convert("L")
    return np.array(image)


# Pillow's decompression-bomb limit (about 89 million pixels): above it Pillow
# warns, and above twice it refuses; every image read here stops at it.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS
# What Pillow raises for a file it cannot decode, by format and by where the
# damage is; its UserWarnings (a truncated TIFF tag, corrupt EXIF) are raised too.
UNREADABLE = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error, UserWarning)


def imread(path, what="image"):
    """The image file at `path` as an array (uint8 for ordinary images);
    one line naming it (as `what`, e.g. a flag) unless Pillow reads it whole
    and it has at most MAX_PIXELS pixels (a decompression bomb, a small file
    of a huge picture, would take the machine's memory)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            warnings.simplefilter("error", UserWarning)
            with Image.open(path) as image:
                return fromimage(image)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise UserError(f"{what} {path}: over {MAX_PIXELS} pixels, more than Pillow decodes safely (a "
                        f"decompression bomb?); give a smaller picture") from None
    except UNREADABLE as error:  # PIL's UnidentifiedImageError is an OSError
        raise UserError(f"{what} {path}: not an image Pillow can read ({error}); give a JPEG or PNG") from None


def imsave(path, arr):
    """Save an HxW or HxWxC array; the format follows the file's extension.
    The file appears whole or not at all."""
    image = toimage(arr, channel_axis=2 if np.ndim(arr) == 3 else None)
    with atomic_path(path) as temporary:
        image.save(temporary)


def imresize(arr, size, interp="bilinear"):
    """Resize like scipy.misc.imresize: `size` is (height, width), a float
    scale, or an int percentage; float data is bytescaled to uint8 first."""
    image = toimage(arr)
    if isinstance(size, (int, np.integer)):
        size = tuple((np.array(image.size) * (size / 100.0)).astype(int))
    elif isinstance(size, (float, np.floating)):
        size = tuple((np.array(image.size) * size).astype(int))
    else:
        size = (size[1], size[0])
    return fromimage(image.resize(size, resample=RESAMPLE[interp]))


def save_image(img, name):
    """Save a 1x3xHxW BGR image as the originals did: clip to [-120, 120],
    map to [0, 1] (patchShow) and save, which stretches min..max to 0..255."""
    rgb = np.zeros(img.shape[2:] + (3,))
    rgb[:] = img[0, ::-1].transpose((1, 2, 0))
    os.makedirs(os.path.dirname(name) or ".", exist_ok=True)
    imsave(name, (np.clip(rgb, -120, 120) + 120) / 240)


def writable_extensions():
    """The file extensions (lower case, with the dot) Pillow can save to."""
    return {extension for extension, name in Image.registered_extensions().items() if name in Image.SAVE}


def read_rgb(path, what):
    """imread(path, what), stopping with one line unless it is an RGB image (the
    originals read images without a mode and took only HxWx3: grey and RGBA
    are refused, not converted)."""
    pixels = imread(path, what)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise UserError(f"{what} {path}: an image of shape {pixels.shape}, not RGB (HxWx3); convert it first, "
                        f"e.g. convert {path} -type TrueColor -alpha off rgb.png")
    return pixels
