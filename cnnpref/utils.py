"""Image transforms, regularisers, pixel-clipping rules and masks of cnnpref.

The names and signatures are the original package's (`cnnpref.utils`), and so
is every float operation and its order: the golden tests compare results bit
for bit.  Images come in two layouts: the user's H x W x RGB, and Caffe's
3 x H x W BGR with the mean removed (see `img_preprocess`).
"""
import numpy as np
import scipy.ndimage as nd

from prefinput.netdefs.loading import layer_of
from prefinput.steps import centre_crop, input_blob

IMAGENET_MEAN_BGR = np.float32([104, 117, 123])


def img_preprocess(img, img_mean=IMAGENET_MEAN_BGR):
    """H x W x RGB image -> Caffe's 3 x H x W BGR float32, mean removed."""
    bgr = np.transpose(img, (2, 0, 1))[::-1]
    return np.float32(bgr) - np.reshape(img_mean, (3, 1, 1))


def img_deprocess(img, img_mean=IMAGENET_MEAN_BGR):
    """The inverse of img_preprocess (the dtype follows img and img_mean)."""
    bgr = img + np.reshape(img_mean, (3, 1, 1))
    return np.dstack(bgr[::-1])


def normalise_img(img):
    """Stretch to 0..255 (min -> 0, max -> 255) and cast to uint8."""
    img = img - img.min()
    if img.max() > 0:
        img = img * (255.0 / img.max())
    return np.uint8(img)


def get_cnn_features(net, img, layer_list):
    """{layer: features of `img` (H x W x RGB) at that layer} for each layer in
    layer_list; the net's input is reshaped to one image."""
    data = input_blob(net)
    h, w = net.blobs[data].data.shape[-2:]
    net.blobs[data].reshape(1, 3, h, w)
    net.blobs[data].data[0] = img_preprocess(img, net.transformer.mean[data])
    net.forward()
    return {layer: net.blobs[layer].data[0].copy() for layer in layer_list}


def p_norm(x, p=2):
    """sum |x|^p and its gradient."""
    loss = np.sum(np.abs(x) ** p)
    grad = p * (np.abs(x) ** (p - 1)) * np.sign(x)
    return loss, grad


def TV_norm(x, TVbeta=1):
    """Total variation of a 3 x H x W image, sum (dx^2 + dy^2)^(TVbeta/2), and
    its gradient.  Differences past the last row/column count as zero."""
    TVbeta = float(TVbeta)
    d1 = np.roll(x, -1, 1)
    d1[:, -1, :] = x[:, -1, :]
    d1 = d1 - x
    d2 = np.roll(x, -1, 2)
    d2[:, :, -1] = x[:, :, -1]
    d2 = d2 - x
    v = (np.sqrt(d1 * d1 + d2 * d2)) ** TVbeta
    loss = v.sum()
    v[v < 1e-5] = 1e-5  # keeps the power below finite where the image is flat
    d1_ = (v ** (2 * (TVbeta / 2 - 1) / TVbeta)) * d1
    d2_ = (v ** (2 * (TVbeta / 2 - 1) / TVbeta)) * d2
    d11 = np.roll(d1_, 1, 1) - d1_
    d22 = np.roll(d2_, 1, 2) - d2_
    d11[:, 0, :] = -d1_[:, 0, :]
    d22[:, :, 0] = -d2_[:, :, 0]
    grad = TVbeta * (d11 + d22)
    return loss, grad


def image_norm(img):
    """The Euclidean norm of each pixel's three channels (H x W)."""
    return np.sqrt(img[0] ** 2 + img[1] ** 2 + img[2] ** 2)


def gaussian_blur(img, sigma):
    """Smooth each channel of a 3 x H x W image in place (nothing for sigma <= 0)."""
    if sigma > 0:
        for channel in range(3):
            img[channel] = nd.gaussian_filter(img[channel], sigma, order=0)
    return img


def _percentage(pct):
    """pct limited to 0..100 (left as it is when inside, int or float)."""
    if pct < 0:
        return 0.
    if pct > 100:
        return 100.
    return pct


def clip_extreme_pixel(img, pct=1):
    """Clip values to the image's own (pct/2)th and (100 - pct/2)th percentiles."""
    pct = _percentage(pct)
    return np.clip(img, np.percentile(img, pct / 2.), np.percentile(img, 100 - pct / 2.))


def _zero_smallest(img, score, pct):
    """Zero, in place, the pixels whose score is below its pct-th percentile."""
    small_pixel = score < np.percentile(score, _percentage(pct))
    img[:, small_pixel] = 0
    return img


def clip_small_norm_pixel(img, pct=1):
    """Zero (in place) the pct% of pixels with the smallest RGB norm."""
    return _zero_smallest(img, image_norm(img), pct)


def clip_small_contribution_pixel(img, grad, pct=1):
    """Zero (in place) the pct% of pixels contributing least, by the RGB norm
    of img * grad."""
    return _zero_smallest(img, image_norm(img * grad), pct)


def sort_layer_list(net, layer_list):
    """The layers of layer_list in the order of the net's blobs (names the net
    lacks are left out)."""
    blob_names = list(net.blobs.keys())
    return sorted((layer for layer in layer_list if layer in blob_names), key=blob_names.index)


def _mask_for(selection, layer):
    """selection[layer] if selection is a dict that names layer, else None."""
    if isinstance(selection, dict):
        return selection.get(layer)
    return None


def _fit_2d_mask(mask, shape):
    """Centre a 2-D mask in `shape`: crop where it is larger, pad with ones
    where it is smaller (Python 2's integer offsets)."""
    if mask.shape == tuple(shape):
        return mask
    fitted = np.ones(shape)
    common = min(mask.shape[0], shape[0]), min(mask.shape[1], shape[1])
    fitted[centre_crop(shape, common)] = mask[centre_crop(mask.shape, common)]
    return fitted


def create_feature_masks(features, masks=None, channels=None):
    """A mask (1: unit used in the loss, 0: not) for each layer of `features`.

    features: {layer: feature array}.  masks: {layer: mask}, the mask of the
    features' shape (3-D, or 1-D for fc layers), or 2-D to apply to every
    channel (centred and cropped or padded with ones to the feature map's
    size).  channels: {layer: array of channel indices}, used where the layer
    has no mask.  A layer with neither gets all ones; a mask that fits none of
    these forms gives 0.
    """
    feature_masks = {}
    for layer, feat in features.items():
        mask = _mask_for(masks, layer)
        chosen = _mask_for(channels, layer)
        if mask is None and chosen is None:
            feature_masks[layer] = np.ones_like(feat)
        elif isinstance(mask, np.ndarray) and mask.ndim in (1, 3) and mask.shape == feat.shape:
            feature_masks[layer] = mask
        elif mask is None and isinstance(chosen, np.ndarray) and chosen.size > 0:
            feature_masks[layer] = np.zeros_like(feat)
            feature_masks[layer][chosen] = 1
        elif isinstance(mask, np.ndarray) and mask.ndim == 2 and chosen is None:
            feature_masks[layer] = np.tile(_fit_2d_mask(mask, feat.shape[1:]), [feat.shape[0], 1, 1])
        else:
            feature_masks[layer] = 0
    return feature_masks


def estimate_cnn_feat_std(cnn_feat):
    """The std of CNN features: over all units for fc layers ([channel] or
    [1, channel], or 1 x 1 maps), else the mean of the channels' stds."""
    shape = cnn_feat.shape
    is_fc = (cnn_feat.ndim == 1 or (cnn_feat.ndim == 2 and shape[0] == 1)
             or (cnn_feat.ndim == 3 and shape[1] == 1 and shape[2] == 1))
    if is_fc:
        return np.std(cnn_feat)
    if cnn_feat.ndim == 3:
        channel_std = np.zeros(shape[0], dtype='float32')
        for j in range(shape[0]):
            channel_std[j] = np.std(cnn_feat[j, :, :])
        return np.mean(channel_std)
    raise ValueError(f"expected CNN features of 1, 2 or 3 dimensions (channel first), got shape {shape}")


def create_receptive_field_mask(net, layer, feat_mask):
    """An H x W x 3 uint8 image mask: 1 inside the bounding box of the pixels
    that reach the units selected by feat_mask (all ones for fc layers).

    The pixels are found by back-propagating from the units on three random
    images (three draws from np.random, as the original).
    """
    data, computed_by = net.blobs[input_blob(net)], layer_of(net, layer)
    channels, h, w = data.data.shape[1:]
    if feat_mask.ndim == 1 or (feat_mask.ndim == 3 and feat_mask.shape[1] == 1 and feat_mask.shape[2] == 1):
        return np.ones((h, w, channels), dtype=np.uint8)
    units = feat_mask > 0
    reached = np.zeros((h, w), dtype=np.uint8)
    for _ in range(3):
        noise_img = np.float32(np.random.randint(0, 256, (channels, h, w)))
        data.data[0] = noise_img - noise_img.mean()
        net.forward(end=computed_by)
        net.blobs[layer].diff.fill(0.)
        net.blobs[layer].diff[0][units] = 10.
        net.backward(start=computed_by)
        net.blobs[layer].diff.fill(0.)
        grad = data.diff[0]
        reached = reached + (np.sum(np.abs(grad) > 0, axis=0) > 0)
    rows, cols = np.nonzero(reached)
    img_mask = np.zeros((h, w, channels), dtype=np.uint8)
    img_mask[rows.min():rows.max() + 1, cols.min():cols.max() + 1, :] = 1
    return img_mask
