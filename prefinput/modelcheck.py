"""Check a caffemodel against its net definition before Caffe sees them.

Caffe aborts the process (glog `Check failed`, exit 134) on a truncated
caffemodel or on weights whose shapes differ from the definition, and
silently keeps the fillers of a layer the caffemodel has no weights for (the
generator's weights given as the classifier's run and save a garbage image).
`check` reads the caffemodel with protobuf and compares it with the net the
definition builds, as Caffe's Net::CopyTrainedLayersFrom and Blob::FromProto
would, so that each of those is one line naming the file and the layer.

A verdict that passed is remembered, keyed by the sha256s of the patched
definition and of the weights, in $PREFINPUT_MODELCHECK_CACHE, else
${XDG_CACHE_HOME:-~/.cache}/preferred-inputs/modelcheck; a file's sha256 is
remembered there too, by its path, size and modification time, so that a
second run neither hashes nor parses anything.
"""
import hashlib
import json
import os
import time

from prefinput.cli import UserError
from prefinput.files import atomic_path, cache_folder

CHECK_VERSION = 1
RACY_SECONDS = 2
MAX_BYTES = 2**31 - 1  # Caffe's CodedInputStream limit (INT_MAX): it aborts on a larger file


def check(patched, weights, definition=None):
    """Stop with one line unless the caffemodel `weights` fits the (patched)
    net definition `patched`; `definition` is the user's file, for the messages.
    HDF5 weights (.h5) are left to Caffe."""
    weights = os.fspath(weights)
    definition = definition or patched
    if not os.path.isfile(weights):
        raise UserError(f"weights file not found: {weights}; check the path")
    if weights.endswith(".h5"):
        return
    key = _sha256_text(json.dumps([CHECK_VERSION, file_sha256(patched), file_sha256(weights)]))
    verdict = os.path.join(cache_dir(), "verdicts", key)
    if os.path.exists(verdict):
        return
    compare(wanted_blobs(patched, source_layer_names(definition)), read_weights(weights), weights, definition)
    _remember(verdict, "ok\n")


def read_weights(path):
    """{layer name: [[(shape, legacy, values, diffs) per blob] per layer of the name]} of the caffemodel
    at `path` (V1 layers too, as Caffe upgrades them), or a one-line error."""
    from caffe.proto import caffe_pb2
    from google.protobuf.message import DecodeError
    size = os.path.getsize(path)
    if size == 0:
        raise UserError(f"{path}: the weights file is empty (0 bytes); fetch it again or give the right .caffemodel")
    if size > MAX_BYTES:
        raise UserError(f"{path}: the weights file is {size} bytes, more than Caffe reads (2 GB); "
                        f"give the right .caffemodel")
    with open(path, "rb") as f:
        data = f.read()
    net = caffe_pb2.NetParameter()
    try:
        net.ParseFromString(data)
    except (DecodeError, RecursionError, ValueError):
        net = None
    if net is None or (not net.layer and not net.layers):
        if _looks_like_text(data):
            raise UserError(f"{path} is text, not a binary caffemodel (is it the net definition, the .prototxt?); "
                            f"give the weights file")
        what = "truncated or corrupt" if net is None else "not a Caffe caffemodel (it holds no layers)"
        raise UserError(f"{path}: the weights file is {what}; fetch it again or give the right .caffemodel")
    if net.layer and net.layers:  # Caffe's upgrade aborts on both
        raise UserError(f"{path}: the weights file is corrupt (it has both V1 'layers' and 'layer' entries); "
                        f"fetch it again or give the right .caffemodel")
    if any(layer.HasField("layer") for layer in net.layers):
        raise UserError(f"{path}: the weights are in Caffe's oldest (V0) format; upgrade them with Caffe's "
                        f"upgrade_net_proto_binary")
    layers = {}
    for layer in [*net.layer, *net.layers]:  # Caffe copies each one whose name the net has
        layers.setdefault(layer.name, []).append([_blob_shape(blob) for blob in layer.blobs])
    return layers


def _blob_shape(blob):
    """(shape, legacy, values): a BlobProto's shape (4-d num/channels/height/
    width in the old format: `legacy`), and how many data and diff values it
    holds."""
    legacy = any(blob.HasField(field) for field in ("num", "channels", "height", "width"))
    shape = (blob.num, blob.channels, blob.height, blob.width) if legacy else tuple(blob.shape.dim)
    return shape, legacy, len(blob.double_data) or len(blob.data), len(blob.double_diff) or len(blob.diff)


def wanted_blobs(patched, names):
    """{layer name: [shape, ...]} of the net `patched` builds (no weights
    loaded), for the layers in `names` (the user's definition: the patch's
    own layers keep their fillers)."""
    import caffe
    net = caffe.Net(patched, caffe.TEST)
    return {name: [blob.data.shape for blob in layer.blobs]
            for name, layer in zip(net._layer_names, net.layers) if name in names}


def source_layer_names(definition):
    """The layer names of the user's definition (V1/V0 `layers` too)."""
    from caffe.proto import caffe_pb2
    from google.protobuf import text_format
    net = caffe_pb2.NetParameter()
    with open(definition) as f:  # read and parsed already by prototxt.patch
        text_format.Merge(f.read(), net)
    return {layer.name for layer in net.layer} | {layer.name or layer.layer.name for layer in net.layers}


def compare(wanted, got, weights, definition):
    """One line for the first layer of `wanted` whose blobs `got` lacks or
    holds in other shapes (layers only `got` has are ignored, as by Caffe)."""
    for name, shapes in wanted.items():
        if name not in got:
            if shapes:
                raise UserError(f"{name}: {weights} has no weights for this layer of {definition} "
                                f"(is it another net's caffemodel?); give the caffemodel made for this definition")
            continue
        for blobs in got[name]:
            _compare_layer(name, shapes, blobs, weights, definition)


def _compare_layer(name, shapes, blobs, weights, definition):
    """As Net::CopyTrainedLayersFrom and Blob::FromProto check one layer."""
    if len(blobs) != len(shapes):
        raise UserError(f"{name}: {weights} has {len(blobs)} blob(s) for this layer, {definition} "
                        f"wants {len(shapes)}; give the caffemodel made for this definition")
    for i, (shape, (stored, legacy, values, diffs)) in enumerate(zip(shapes, blobs)):
        if not _same_shape(shape, stored, legacy):
            raise UserError(f"{name}: the weights are {_dims(stored)}, the definition wants {_dims(shape)} "
                            f"(blob {i}; {weights} against {definition}); give the matching files")
        count = _count(shape)
        if values != count or diffs not in (0, count):
            raise UserError(f"{name}: {weights} holds {values} values for a {_dims(shape)} blob {i}; "
                            f"the file is corrupt: fetch it again")


def _same_shape(shape, stored, legacy):
    """Blob::ShapeEquals: an old-format blob is compared as 4-d, padded with 1s in front."""
    if legacy:
        return len(shape) <= 4 and (1,) * (4 - len(shape)) + tuple(shape) == stored
    return tuple(shape) == stored


def _count(shape):
    count = 1
    for dim in shape:
        count *= dim
    return count


def _dims(shape):
    return "x".join(str(dim) for dim in shape) or "a scalar"


def _looks_like_text(data):
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start > 4090  # a character cut by the 4096 bytes
    return b"\0" not in data[:4096]


def file_sha256(path):
    """The sha256 of the file at `path`, remembered by path, size and
    modification time (hashing a 200 MB caffemodel costs a third of a second);
    not for a file changed just now, which could change again within the
    same mtime tick (git's "racy" files)."""
    stat = os.stat(path)
    key = _sha256_text(json.dumps([os.path.realpath(path), stat.st_size, stat.st_mtime_ns]))
    remembered = os.path.join(cache_dir(), "sha256", key)
    try:
        with open(remembered) as f:
            return f.read().strip()
    except OSError:
        pass
    from prefinput import download
    digest = download.digest(path)
    if time.time() - stat.st_mtime > RACY_SECONDS:
        _remember(remembered, digest + "\n")
    return digest


def _remember(path, text):
    """Write a cache entry atomically; a cache that cannot be written only
    costs the next run the work again."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "w") as f:
            f.write(text)
    except OSError:
        pass


def cache_dir():
    """$PREFINPUT_MODELCHECK_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/preferred-inputs/modelcheck."""
    return cache_folder("PREFINPUT_MODELCHECK_CACHE", "modelcheck")


def _sha256_text(text):
    return hashlib.sha256(text.encode()).hexdigest()
