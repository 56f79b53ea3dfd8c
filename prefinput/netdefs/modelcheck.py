"""Check a net definition, and the caffemodel for it, before Caffe sees them
in this process.

Caffe aborts the process (glog `Check failed`, exit 134, which Python cannot
catch) on many a definition (a bottom no layer makes, a dimension of 0, a
stride of 0, a kernel larger than its input, a blob over INT_MAX values), on
a truncated caffemodel or on weights whose shapes differ from the
definition; it silently keeps the fillers of a layer the caffemodel has no
weights for, and runs on weights that are NaN (a NaN reaching MAX pooling
corrupts the heap).  `check` builds the net once in a child process, where
an abort hurts nothing, and there compares the caffemodel with it, as
Caffe's Net::CopyTrainedLayersFrom and Blob::FromProto would, and checks
the weights' values; each problem is one line naming the file and the layer.
The child also reports how much memory the net needs (every blob's values
and gradients, 4 bytes each), which is compared with what this process may
use before Caffe allocates it here.  `type: "Python"` layers, which import
and run a module named by the definition, are refused unless allowed
(--allow_python_layers or PREFINPUT_ALLOW_PYTHON_LAYERS=1).

A verdict that passed is remembered with the net's memory, keyed by the
sha256s of the patched definition and of the weights, in
$PREFINPUT_MODELCHECK_CACHE, else
${XDG_CACHE_HOME:-~/.cache}/preferred-inputs/modelcheck; a file's sha256 is
remembered there too, by its path, size and modification time, so that a
second run neither hashes nor parses anything, nor starts a child.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

from prefinput import digests
from prefinput.environment import truthy
from prefinput.errors import UserError
from prefinput.files import atomic_path, cache_folder

CHECK_VERSION = 2
RACY_SECONDS = 2
INT_MAX = 2**31 - 1  # the most values a Caffe blob holds
MAX_BYTES = INT_MAX  # Caffe's CodedInputStream limit: it aborts on a larger file
PYTHON_LAYERS = "PREFINPUT_ALLOW_PYTHON_LAYERS"
ALLOW_FLAG = "--allow_python_layers"
SMALLER = "make the net, its input or the batch smaller"


class TooLarge(UserError):
    """A net too large for Caffe's blobs or for the memory this process may
    use: "`what`: `reason`; `fix`" (a caller that knows the flag that sized
    it says it again with its own `what` and `fix`)."""

    def __init__(self, what, reason, fix=SMALLER):
        super().__init__(f"{what}: {reason}; {fix}")
        self.reason = reason


def check(patched, weights=None, definition=None):
    """Stop with one line unless Caffe can build the (patched) net definition
    `patched` within the memory this process may use, and the caffemodel
    `weights` (None: none) fits it with finite values; `definition` is the
    user's file, for the messages.  HDF5 weights (.h5) are left to Caffe.
    Returns the bytes the net needs."""
    definition = definition or patched
    if weights is not None:
        weights = os.fspath(weights)
        if not os.path.isfile(weights):
            raise UserError(f"weights file not found: {weights}; check the path")
        if weights.endswith(".h5"):
            weights = None
    allowed = python_layers_allowed()
    key = digests.text_sha256(json.dumps([CHECK_VERSION, file_sha256(patched), weights and file_sha256(weights), allowed]))
    verdict = os.path.join(cache_dir(), "verdicts", key)
    needed = _remembered(verdict)
    if needed is None:
        needed = check_in_child(patched, weights, definition, allowed)
        _remember(verdict, json.dumps({"bytes": needed}) + "\n")
    check_fits(needed, definition)
    return needed


def python_layers_allowed():
    return truthy(os.environ.get(PYTHON_LAYERS, ""))


def allow_python_layers():
    """What --allow_python_layers does: this process, and the model checks it
    starts, accept `type: "Python"` layers."""
    os.environ[PYTHON_LAYERS] = "1"


def add_python_layer_flag(parser):
    """The programs' --allow_python_layers flag."""
    class Allow(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            allow_python_layers()
            setattr(namespace, self.dest, True)
    parser.add_argument(ALLOW_FLAG, nargs=0, action=Allow, default=False,
                        help='accept net definitions with `type: "Python"` layers, which import and run Python '
                             'code named by the definition (see docs/nets.md)')


def _remembered(verdict):
    """The bytes of a remembered verdict, or None."""
    try:
        with open(verdict) as f:
            return int(json.load(f)["bytes"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


# --- in the parent: running the check, reading its outcome ------------------

def check_in_child(patched, weights, definition, allowed):
    """Run the check in a child process; return the bytes the net needs, or
    raise the child's one line, or one made of the Caffe check that killed it."""
    command = [sys.executable, "-m", "prefinput.netdefs.modelcheck", patched, "--definition", definition]
    if weights:
        command += ["--weights", weights]
    if allowed:
        command.append(ALLOW_FLAG)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, GLOG_minloglevel="0", GLOG_logtostderr="1",
               PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, env=env)
    outcome = _outcome(done.stdout) if done.returncode == 0 else None
    if outcome:
        if "too_large" in outcome:
            raise TooLarge(definition, outcome["too_large"])
        if "error" in outcome:
            raise UserError(outcome["error"])
        return outcome["bytes"]
    raise caffe_refusal(done.stderr.decode("utf-8", "replace"), done.returncode, definition)


def _outcome(stdout):
    """The child's verdict, its last line of output (a JSON object), or None."""
    lines = stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        outcome = json.loads(lines[-1])
    except (IndexError, ValueError):
        return None
    return outcome if isinstance(outcome, dict) and outcome.keys() & {"bytes", "error", "too_large"} else None


GLOG_FATAL = re.compile(r"^F\d{4,8} [\d:.]+\s+\d+ ([^\]]+)\] (.*)$", re.MULTILINE)
GLOG_LAYER = re.compile(r"\] (?:Creating layer|Setting up) (\S+)$", re.MULTILINE)


def caffe_refusal(stderr, status, definition):
    """The one line for a model check that died: Caffe's failed check and the
    layer it was making, or what is known of the death."""
    layers = GLOG_LAYER.findall(stderr)
    where = f"layer {layers[-1]} of {definition}" if layers else definition
    fatal = GLOG_FATAL.search(stderr)
    if fatal:
        what = fatal.group(2).strip()
        if "allocation" in what or "INT_MAX" in what:
            return TooLarge(where, f"too large for Caffe ({what})")
        return UserError(f"{where}: Caffe cannot build this net ({fatal.group(1)}: {what}); fix the definition")
    if "std::bad_alloc" in stderr or status in (-9, 137):
        return TooLarge(where, "Caffe ran out of memory building this net")
    last = (stderr.strip().splitlines() or [f"exit status {status}"])[-1]
    return UserError(f"{where}: Caffe cannot build this net ({last}); fix the definition")


# --- memory -------------------------------------------------------------------

def check_fits(needed, what, fix=SMALLER):
    """Stop with one line (TooLarge) unless `needed` bytes fit in the memory this process may use."""
    available = available_memory()
    if needed > available:
        raise TooLarge(what, f"the net needs about {gigabytes(needed)} of memory (its blobs' values and "
                             f"gradients), more than the {gigabytes(available)} available", fix)


def net_bytes(net, batch=None, what="the net"):
    """The bytes `net` (a caffe.Net) needs: every blob's and parameter's
    values and gradients, 4 bytes each; with `batch`, as it would need once
    reshaped to `batch` items (the blobs whose first axis is the batch
    scaled).  A blob over INT_MAX values is TooLarge, said of `what`."""
    names, blobs = list(net._blob_names), list(net._blobs)  # pycaffe's or the bare module's Net
    now = blobs[net._inputs[0]].shape[0] if batch and len(net._inputs) else None
    total = 0
    for name, blob in zip(names, blobs):
        count = blob.count
        if batch and blob.shape and blob.shape[0] == now and now:
            count = count // now * batch
        if count > INT_MAX:
            raise TooLarge(what, f"blob {name} would hold {count} values, more than Caffe's {INT_MAX}")
        total += count
    total += sum(blob.count for layer in net.layers for blob in layer.blobs)
    return total * 4 * 2


def available_memory():
    """The bytes this process may still allocate: the machine's available
    memory, its control group's limit and the address-space limit (ulimit -v)."""
    import resource
    found = [_meminfo("MemAvailable")]
    limit = _read_number("/sys/fs/cgroup/memory.max")
    if limit is not None:
        found.append(limit - (_read_number("/sys/fs/cgroup/memory.current") or 0))
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        found.append(soft - _vm_size())
    return max(0, min(n for n in found if n is not None))


def _meminfo(field, path="/proc/meminfo"):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _vm_size():
    return _meminfo("VmSize", "/proc/self/status") or 0


def _read_number(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):  # absent, or "max"
        return None


def gigabytes(n):
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


# --- in the child: building the net, comparing the weights ----------------------

def child_main(argv=None):
    """The check itself, in a process of its own: one JSON line on stdout,
    {"bytes": N} or {"error": line}; a Caffe abort is read by the parent."""
    parser = argparse.ArgumentParser()
    parser.add_argument("patched")
    parser.add_argument("--definition")
    parser.add_argument("--weights")
    parser.add_argument(ALLOW_FLAG, dest="allowed", action="store_true")
    args = parser.parse_args(argv)
    try:
        outcome = {"bytes": build_and_compare(args.patched, args.weights, args.definition, args.allowed)}
    except TooLarge as error:
        outcome = {"too_large": error.reason}
    except UserError as error:
        outcome = {"error": str(error)}
    except MemoryError:
        outcome = {"too_large": "too large to check in the memory available"}
    sys.stdout.flush()
    print(json.dumps(outcome))


def build_and_compare(patched, weights, definition, allowed):
    """The net `patched` built, `weights` compared with it and loaded; the bytes it needs."""
    _caffe, caffe_pb2 = bare_caffe()
    param = _parse(patched)
    if not allowed:
        refuse_python_layers(param, definition)
    check_inputs(param, definition)
    limit_memory()
    net = _caffe.Net(patched, caffe_pb2.TEST)
    needed = net_bytes(net)
    if weights:
        names = source_layer_names(definition)
        compare(wanted_blobs(net, names), read_weights(weights), weights, definition)
        net.copy_from(weights)
        check_values(net, names, weights)
    return needed


def bare_caffe():
    """pycaffe's compiled module and caffe_pb2, imported without pycaffe's
    __init__ (which imports scikit-image: a second of the check's start)."""
    import importlib.util
    folder = importlib.util.find_spec("caffe").submodule_search_locations[0]
    sys.path[:0] = [folder, os.path.join(folder, "proto")]
    import _caffe
    import caffe_pb2
    return _caffe, caffe_pb2


def _caffe_pb2():
    """caffe_pb2: the bare one in the child, else pycaffe's."""
    if "caffe_pb2" in sys.modules:
        return sys.modules["caffe_pb2"]
    from caffe.proto import caffe_pb2
    return caffe_pb2


def refuse_python_layers(param, definition):
    """Stop with one line if the definition (its NetParameter `param`) has `type: "Python"` layers."""
    names = [layer.name for layer in param.layer if layer.type == "Python"]
    if names:
        raise UserError(f"{names[0]}: {definition} has a Python layer, which would import and run the module "
                        f"its python_param names; pass {ALLOW_FLAG} (or set {PYTHON_LAYERS}=1) if you trust it")


def limit_memory():
    """Let this process allocate no more than is available, so that a net too
    large fails here (Caffe's allocation check) and not by swapping or the
    kernel's OOM killer.  Not with a CUDA build: CUDA reserves far more
    address space than it uses."""
    import resource
    with open("/proc/self/maps") as maps:
        if "libcudart" in maps.read():
            return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _vm_size() + available_memory()
    if hard == resource.RLIM_INFINITY or limit < hard:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def check_inputs(param, definition):
    """An input dimension below 1 leaves Caffe nothing to compute (it aborts
    in a later layer) or is refused by Caffe's own check, and one over
    INT_MAX is cut to a negative int by it."""
    from prefinput.netdefs.prototxt import input_shapes
    for name, shape in input_shapes(param):
        dims = "x".join(map(str, shape))
        if any(dim < 1 for dim in shape):
            raise UserError(f"{definition}: the input {name} is {dims}; give every input dimension a size of at "
                            f"least 1")
        if _count(shape) > INT_MAX:
            raise TooLarge(definition, f"the input {name} is {dims}, more than the {INT_MAX} values a Caffe blob "
                                       f"holds")


def check_values(net, names, weights):
    """One line for the first layer whose loaded weights are not all finite
    (or a BatchNorm whose variance is negative: its output would be NaN)."""
    import numpy as np
    for name, layer in zip(net._layer_names, net.layers):
        if name not in names:
            continue
        for i, blob in enumerate(layer.blobs):
            if not np.isfinite(blob.data).all():
                raise UserError(f"{name}: the weights in {weights} are broken: blob {i} holds NaN or infinite "
                                f"values; fetch the caffemodel again or fix the model")
        if layer.type == "BatchNorm" and len(layer.blobs) == 3:
            scale = layer.blobs[2].data[0]
            variance = layer.blobs[1].data * (0 if scale == 0 else 1 / scale)
            if (variance < 0).any():
                raise UserError(f"{name}: the weights in {weights} are broken: this BatchNorm has a negative "
                                f"variance, which makes NaN; fetch the caffemodel again or fix the model")


def read_weights(path):
    """{layer name: [[(shape, legacy, values, diffs) per blob] per layer of the name]} of the caffemodel
    at `path` (V1 layers too, as Caffe upgrades them), or a one-line error."""
    from google.protobuf.message import DecodeError
    size = os.path.getsize(path)
    if size == 0:
        raise UserError(f"{path}: the weights file is empty (0 bytes); fetch it again or give the right .caffemodel")
    if size > MAX_BYTES:
        raise UserError(f"{path}: the weights file is {size} bytes, more than Caffe reads (2 GB); "
                        f"give the right .caffemodel")
    with open(path, "rb") as f:
        data = f.read()
    net = _caffe_pb2().NetParameter()
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


def wanted_blobs(net, names):
    """{layer name: [shape, ...]} of the built `net` (no weights loaded), for
    the layers in `names` (the user's definition: the patch's own layers keep
    their fillers)."""
    return {name: [tuple(blob.shape) for blob in layer.blobs]
            for name, layer in zip(net._layer_names, net.layers) if name in names}


def source_layer_names(definition):
    """The layer names of the user's definition (V1/V0 `layers` too)."""
    net = _parse(definition)
    return {layer.name for layer in net.layer} | {layer.name or layer.layer.name for layer in net.layers}


def _parse(definition):
    from google.protobuf import text_format
    net = _caffe_pb2().NetParameter()
    with open(definition) as f:  # read and parsed already by prototxt.patch
        text_format.Merge(f.read(), net)
    return net


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
    key = digests.text_sha256(json.dumps([os.path.realpath(path), stat.st_size, stat.st_mtime_ns]))
    remembered = os.path.join(cache_dir(), "sha256", key)
    try:
        with open(remembered) as f:
            return f.read().strip()
    except OSError:
        pass
    digest = digests.file_digest(path)
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





if __name__ == "__main__":
    child_main()
