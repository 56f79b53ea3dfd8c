"""cnn-vis's images between Caffe's layout (1 x C x H x W, BGR, mean colour
removed) and 8-bit pictures: conversions, resizing, the initial image and
the noise it starts from otherwise, each in the original's order of float
operations."""
import numpy as np
from scipy.ndimage import gaussian_filter

from prefinput.image import imread, imresize


# The 8-bit picture is brightened a little (x1.2) before the mean colour goes back in.
DISPLAY_GAIN = 1.2


def img_to_uint(img, mean_img=None, rescale=False):
    """The H x W x 3 RGB uint8 picture of a Caffe image: the mean colour put
    back, then clipped to 0..255 (or stretched from its min..max when rescaling)."""
    if mean_img is not None:
        img = DISPLAY_GAIN * img + mean_img.mean()
    if rescale:
        low, high = img.min(), img.max()
    else:
        low, high = 0, 255
    img = np.clip(img, low, high)
    img = 255.0 * (img - low) / (high - low)
    img = img.squeeze().transpose(1, 2, 0)
    return img[:, :, [2, 1, 0]].astype('uint8')


def uint_to_img(uint_img, mean_img=None):
    """The Caffe image (float64) of an H x W x 3 RGB picture."""
    img = uint_img.astype('float')
    img = img[:, :, [2, 1, 0]].transpose(2, 0, 1)[np.newaxis]
    if mean_img is not None:
        img = img - mean_img.mean()
    return img


def resize_img(img, size, mean_img=None):
    """The image resized to size (h, w), bicubically, through its 8-bit picture."""
    return uint_to_img(imresize(img_to_uint(img, mean_img), size, interp='bicubic'), mean_img)


def load_initial_image(path, size, mean_img):
    """The picture at `path`, resized to (h, w) bilinearly, as a Caffe image."""
    return uint_to_img(imresize(imread(path), size), mean_img)


def noise_image(channels, size, mean_img, scale, blur):
    """Gaussian noise of standard deviation `scale`, blurred through its 8-bit
    picture.  The blur's sigma applies to all three axes, colour included,
    as in the original."""
    noise = scale * np.random.randn(1, channels, size[0], size[1])
    picture = gaussian_filter(img_to_uint(noise, mean_img), sigma=blur)
    return uint_to_img(picture, mean_img)
