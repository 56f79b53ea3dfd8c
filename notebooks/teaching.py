"""What the three notebooks share: which models they run on, and the pictures.

A notebook runs on the real models when their files are there (nets/download.sh
fetched them).  Otherwise, or with PREFINPUT_NOTEBOOK_SMALL=1 (the tests),
`use_small_nets` builds a small classifier and generator with random weights
(caffe.NetSpec) in a temporary folder and points the programs' settings at
them through the environment variables that prefinput.environment.setting reads, so
the programs' own parse_args pick them up: the pictures then show nothing
real, but every operation runs as it does on the real nets.
"""
import os
import tempfile

import numpy as np

CODE_SIZE = 64      # the small generator's code (the small classifier's fc6)
CLASSES = 10        # the small classifier's fc8
IMAGE_SIZE = 27     # the small classifier's input; the generator's images are 32x32


def models_present(paths):
    """Whether every model file in `paths` is there (and small nets are not asked for)."""
    if os.environ.get("PREFINPUT_NOTEBOOK_SMALL") == "1":
        return False
    return all(os.path.exists(path) for path in paths)


def _filled(**params):
    # random weights that keep the activations away from zero through the ReLUs
    return dict(weight_filler=dict(type="msra"), bias_filler=dict(type="constant", value=0.1), **params)


def classifier_spec():
    """A CaffeNet in miniature: its layer names, a 1x3x27x27 input, 10 classes;
    fc6 is the code the PPGN encoder gives."""
    import caffe
    from caffe import layers as L, params as P
    n = caffe.NetSpec()
    n.data = L.Input(shape=dict(dim=[1, 3, IMAGE_SIZE, IMAGE_SIZE]))
    n.conv1 = L.Convolution(n.data, **_filled(num_output=8, kernel_size=5, stride=2))
    n.relu1 = L.ReLU(n.conv1, in_place=True)
    n.pool1 = L.Pooling(n.relu1, pool=P.Pooling.MAX, kernel_size=2, stride=2)
    top = n.pool1
    for i, channels in ((2, 12), (3, 12), (4, 12), (5, 16)):
        setattr(n, f"conv{i}", L.Convolution(top, **_filled(num_output=channels, kernel_size=3, pad=1)))
        top = L.ReLU(getattr(n, f"conv{i}"), in_place=True)
        setattr(n, f"relu{i}", top)
    n.pool5 = L.Pooling(top, pool=P.Pooling.MAX, kernel_size=2, stride=2)
    n.fc6 = L.InnerProduct(n.pool5, **_filled(num_output=CODE_SIZE))
    n.relu6 = L.ReLU(n.fc6, in_place=True)
    n.fc7 = L.InnerProduct(n.relu6, **_filled(num_output=64))
    n.relu7 = L.ReLU(n.fc7, in_place=True)
    n.fc8 = L.InnerProduct(n.relu7, **_filled(num_output=CLASSES))
    n.prob = L.Softmax(n.fc8)
    return n.to_proto()


def generator_spec():
    """An up-convolutional generator in miniature: code `feat` (1x64) to
    image `deconv0` (1x3x32x32), named like Dosovitskiy & Brox's."""
    import caffe
    from caffe import layers as L
    n = caffe.NetSpec()
    n.feat = L.Input(shape=dict(dim=[1, CODE_SIZE]))
    top = n.feat
    for name in ("defc7", "defc6", "defc5"):
        setattr(n, name, L.InnerProduct(top, **_filled(num_output=64)))
        top = L.ReLU(getattr(n, name), in_place=True)
        setattr(n, "relu_" + name, top)
    n.reshape_relu_defc5 = L.Reshape(top, shape=dict(dim=[1, 16, 2, 2]))
    top = n.reshape_relu_defc5
    # (name, channels, kernel, stride): each stride 2 doubles the size, 2 -> 32
    for name, channels, kernel, stride in (("deconv5", 16, 4, 2), ("conv5_1", 16, 3, 1), ("deconv4", 16, 4, 2),
                                           ("conv4_1", 8, 3, 1), ("deconv3", 8, 4, 2), ("deconv2", 8, 4, 2),
                                           ("deconv1", 8, 3, 1), ("deconv0", 3, 3, 1)):
        layer = L.Deconvolution(top, convolution_param=_filled(num_output=channels, kernel_size=kernel,
                                                               stride=stride, pad=1))
        setattr(n, name, layer)
        top = layer
        if name != "deconv0":
            top = L.ReLU(layer, in_place=True)
            setattr(n, "relu_" + name, top)
    return n.to_proto()


def write_net(spec, folder, name):
    """`spec` as <folder>/<name>.prototxt and its random weights as .caffemodel."""
    import caffe
    definition, weights = (os.path.join(folder, name + ext) for ext in (".prototxt", ".caffemodel"))
    with open(definition, "w") as f:
        f.write(str(spec))
    caffe.Net(definition, caffe.TEST).save(weights)
    return definition, weights


def use_small_nets(folder=None):
    """Build the small nets and data files in `folder` (default: a new
    temporary one) and make them every program's default; returns the folder."""
    import caffe
    folder = folder or tempfile.mkdtemp(prefix="prefinput-notebook-")
    caffe.set_random_seed(0)  # the same random weights every time
    classifier = write_net(classifier_spec(), folder, "classifier")
    generator = write_net(generator_spec(), folder, "generator")
    files = {name: os.path.join(folder, name) for name in ("synset_words.txt", "fc6_bound.txt", "mean.npy")}
    with open(files["synset_words.txt"], "w") as f:
        f.writelines(f"n{i:08d} class {i}\n" for i in range(CLASSES))
    rng = np.random.RandomState(0)
    np.savetxt(files["fc6_bound.txt"], rng.uniform(1, 5, (1, CODE_SIZE)), fmt="%f", delimiter=" ")
    np.save(files["mean.npy"], np.float32([104, 117, 123])[:, None, None] * np.ones((3, 32, 32), np.float32))
    environment = {}
    for prefix, (definition, weights) in (("NET", classifier), ("ENCODER", classifier), ("GENERATOR", generator),
                                          ("PPGN_GENERATOR", generator)):
        environment.update({prefix + "_DEFINITION": definition, prefix + "_WEIGHTS": weights})
    environment.update(SYNSET_FILE=files["synset_words.txt"], BOUND_FILE=files["fc6_bound.txt"],
                       MEAN_FILE_NPY=files["mean.npy"])
    os.environ.update(environment)
    print("SMALL NETS WITH RANDOM WEIGHTS in %s:\nthe real models are not downloaded (nets/download.sh), so the "
          "pictures below show nothing real;\nevery operation runs as it does on the real nets." % folder)
    return folder


# --- pictures ---------------------------------------------------------------

def caffe_to_rgb(x):
    """A 1x3xHxW BGR, mean-subtracted image as HxWx3 RGB in [0, 1], as the
    programs save it: clipped to [-120, 120], then stretched min..max."""
    rgb = np.clip(x[0, ::-1].transpose(1, 2, 0), -120, 120)
    low, high = rgb.min(), rgb.max()
    return (rgb - low) / ((high - low) or 1)


def row(images, titles, to_rgb=caffe_to_rgb, size=2.2):
    """The images side by side, each with its title."""
    import matplotlib.pyplot as plt
    _, axes = plt.subplots(1, len(images), figsize=(size * len(images), size + 0.4), squeeze=False)
    for axis, image, title in zip(axes[0], images, titles):
        axis.imshow(to_rgb(image))
        axis.set_title(title, fontsize=9)
        axis.axis("off")
    plt.show()


def curves(series, xlabel="iteration"):
    """One plot per (title, values) of `series`, side by side."""
    import matplotlib.pyplot as plt
    _, axes = plt.subplots(1, len(series), figsize=(4.5 * len(series), 3), squeeze=False)
    for axis, (title, values) in zip(axes[0], series):
        axis.plot(values)
        axis.set_title(title)
        axis.set_xlabel(xlabel)
    plt.tight_layout()
    plt.show()
