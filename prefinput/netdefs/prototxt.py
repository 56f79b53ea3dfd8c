"""Patch a Caffe net definition so that gradients reach its input on our build.

The patches are made on the parsed NetParameter (caffe_pb2), never on text,
and written to a copy, `<name>.patched.prototxt`, whose header says what was
changed, with the sha256 of the rest; the upstream file stays untouched.  A
copy is used again only while its stamp is current and its content hashes
to that sha256, so an edited or damaged copy is made again.  Where the copy
goes:

    under NETS_DIR      beside the source (the models folder the harness
                        downloads into; other options than the defaults add a
                        short hash to the name)
    anywhere else       a cache keyed by the source's sha256, the options and
                        PATCH_VERSION, so a user's own folders get no files:
                        $PREFINPUT_PROTOTXT_CACHE, else
                        ${XDG_CACHE_HOME:-~/.cache}/preferred-inputs/prototxt,
                        then <key>/<name>.patched.prototxt
    dst=                where the caller says

The patches, patch()'s options:

    force_backward      `force_backward: true`: Caffe skips the backward pass
                        to the data otherwise
    drop_cudnn          clear `engine: CUDNN` (the generators set it on their
                        deconvolutions); a Caffe without cuDNN aborts on it.
                        None: only where this Caffe has no cuDNN
    flexible_batch      the generators' Reshape hard-codes the batch (`dim: 1`,
                        or the input's batch as in generator_160.prototxt);
                        make it `dim: -1` so a batch of codes goes through
    relu_out_of_place   in-place ReLUs write their own blob, named after the
                        layer, so the pre-ReLU features stay readable (cnnpref)
    out_of_place        names of in-place layers (any type: BatchNorm, Scale,
                        ReLU) that write their own blob, named after the layer,
                        so that a layer name is "the output of that layer"
    batch_size          the first dimension of every input, whatever form it
                        takes (input_dim, input_shape, Input layers)
    weight_gradients    False: gradients reach the inputs but no weight gradient
                        is computed (a third of a backward pass).  force_backward
                        computes both, so instead: lr_mult 0 on every param, an
                        identity Scale (x * 1, exact) on each input that makes
                        the input need a gradient, and loss_weight on the net's
                        output layers so that every layer counts for the loss;
                        the input gradients are bit-identical

Old (V0/V1) definitions are upgraded first with Caffe's own
`upgrade_net_proto_text`.
"""
import itertools
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

from google.protobuf import text_format

from prefinput.cli import ArgumentParser, run
from prefinput.digests import text_sha256
from prefinput.environment import setting
from prefinput.errors import UserError
from prefinput.files import atomic_path, cache_folder

PATCH_VERSION = 1
_MARK = "# prefinput-patch "
_BODY = "body-sha256:"


def patch(src, dst=None, *, force_backward=True, drop_cudnn=None, flexible_batch=True,
          relu_out_of_place=False, batch_size=None, weight_gradients=True, out_of_place=()):
    """Write the patched copy of `src` (rewritten only when stale); return its path."""
    src = os.path.abspath(os.fspath(src))
    if drop_cudnn is None:
        drop_cudnn = not caffe_has_cudnn()
    options = dict(force_backward=force_backward, drop_cudnn=drop_cudnn,
                   flexible_batch=flexible_batch, relu_out_of_place=relu_out_of_place,
                   batch_size=batch_size)
    if not weight_gradients:  # not in the options of older copies: their stamps stay valid
        options["weight_gradients"] = False
    if out_of_place:  # the same
        options["out_of_place"] = sorted(out_of_place)
    source_text = _read(src)
    stamp = _stamp(text_sha256(source_text), options)
    dst = os.fspath(dst) if dst else patched_path(src, options, stamp)
    if _verified_stamp(dst) == stamp:
        return dst
    net, notes = parse(source_text, src)
    notes += apply(net, **options)
    body = text_format.MessageToString(net)
    header = [f"# Patched copy of {src}, made by prefinput.netdefs.prototxt; the upstream file is untouched.",
              *(f"# - {note}" for note in notes), f"{_MARK}{stamp} {_BODY}{text_sha256(body)}"]
    _write(dst, "\n".join(header) + "\n" + body)
    return dst


def _stamp(source_sha256, options):
    """What a patched copy is made from: the patch code's version, the source's
    sha256 (a prototxt includes no other file) and the options."""
    return json.dumps({"version": PATCH_VERSION, "source_sha256": source_sha256, "options": options},
                      sort_keys=True)


def _write(dst, text):
    """Write `text` to `dst` atomically (concurrent writers of one cache key
    each rename a whole file onto it); a cache folder that cannot be made or
    written is a one-line error."""
    folder = os.path.dirname(dst)
    cached = _is_under(dst, cache_dir())
    try:
        if folder:
            os.makedirs(folder, exist_ok=True)
        with atomic_path(dst) as tmp, open(tmp, "w") as out:
            out.write(text)
    except OSError as error:
        reason = error.strerror or str(error)
        if cached:
            raise UserError(f"cannot write the patched prototxt cache folder {folder}: {reason}; "
                            f"set PREFINPUT_PROTOTXT_CACHE to a writable folder") from None
        raise UserError(f"cannot write the patched prototxt {dst}: {reason}") from None


def apply(net, *, force_backward=True, drop_cudnn=True, flexible_batch=True,
          relu_out_of_place=False, batch_size=None, weight_gradients=True, out_of_place=()):
    """Patch the NetParameter `net` in place; return one note per change."""
    notes = []
    if not weight_gradients:
        notes += input_gradients_only(net)
    elif force_backward and not net.force_backward:
        net.force_backward = True
        notes.append("force_backward: true")
    if drop_cudnn:
        notes += [f"engine: CUDNN dropped from {name}" for name in drop_cudnn_engines(net)]
    if flexible_batch:
        notes += [f"Reshape {name}: batch dim {old} -> -1" for name, old in flexible_reshapes(net)]
    if relu_out_of_place or out_of_place:
        notes += [f"{name}: {old} -> {new} (out of place)"
                  for name, old, new in relus_out_of_place(net, relu_out_of_place, out_of_place)]
    if batch_size is not None:
        notes += [f"batch size {batch_size}: {where}" for where in set_batch_size(net, batch_size)]
    return notes


def parse(text, src="<text>"):
    """The NetParameter of prototxt `text`, upgraded to the current format; and notes."""
    net = _merge(text, src)
    if len(net.layers) == 0:
        return net, []
    return _merge(_upgrade(text, src), src), ["upgraded from the V0/V1 format by upgrade_net_proto_text"]


def _merge(text, src):
    from caffe.proto import caffe_pb2
    net = caffe_pb2.NetParameter()
    try:
        text_format.Merge(text, net)
    except text_format.ParseError as error:
        if error.GetLine():  # str(error) starts "line:column : "
            raise UserError(f"{src} is not a Caffe net definition: line {error.GetLine()}, column "
                            f"{error.GetColumn()}: {str(error).split(' : ', 1)[-1]}") from None
        raise UserError(f"{src} is not a Caffe net definition: {error}") from None
    if not net.layer and not net.layers:
        raise UserError(f"{src} is not a Caffe net definition: it defines no layers; give the .prototxt")
    return net


def drop_cudnn_engines(net):
    """Clear `engine: CUDNN` in every layer parameter; return the layers' names."""
    names = []
    for layer in net.layer:
        for field, param in layer.ListFields():
            engine = field.message_type and field.message_type.fields_by_name.get("engine")
            if engine and param.HasField("engine") and engine.enum_type.values_by_number[param.engine].name == "CUDNN":
                param.ClearField("engine")
                names.append(layer.name)
    return list(dict.fromkeys(names))


def flexible_reshapes(net):
    """A Reshape's first dim -> -1 where it is the batch (1, or the input's
    batch as in generator_160.prototxt); return (layer name, old dim) for each."""
    batches = {1, *input_batch_sizes(net)}
    changed = []
    for layer in net.layer:
        param = layer.reshape_param
        if layer.type != "Reshape" or param.axis != 0 or param.num_axes != -1:
            continue
        dims = param.shape.dim
        if len(dims) > 1 and dims[0] in batches and -1 not in dims[1:]:
            changed.append((layer.name, dims[0]))
            dims[0] = -1
    return changed


def relus_out_of_place(net, relus=True, names=()):
    """Give each in-place ReLU (with `relus`) and each in-place layer named in
    `names` its own top, named after the layer, and point the later layers at
    it; return (layer, old blob, new blob) for each."""
    blobs = {blob for layer in net.layer for blob in [*layer.bottom, *layer.top]} | set(net.input)
    current = {}  # original blob name -> the name later layers must read
    changes = []
    for layer in net.layer:
        originals = list(layer.bottom)
        for i, name in enumerate(originals):
            layer.bottom[i] = current.get(name, name)
        in_place = len(originals) == 1 and list(layer.top) == originals
        if in_place and ((relus and layer.type == "ReLU") or layer.name in names):
            new = _unused(layer.name, blobs)
            blobs.add(new)
            changes.append((layer.name, layer.bottom[0], new))
            layer.top[0] = new
            current[originals[0]] = new
            continue
        for i, name in enumerate(layer.top):
            if name in originals:  # another in-place layer: follow the renamed blob
                layer.top[i] = layer.bottom[originals.index(name)]
            else:
                current.pop(name, None)
    return changes


# Param blobs per layer type, for the param specs lr_mult 0 needs (Caffe
# aborts on more specs than blobs); types not here keep their gradients.
_PARAM_BLOBS = {
    "Convolution": lambda layer: 1 + layer.convolution_param.bias_term,
    "Deconvolution": lambda layer: 1 + layer.convolution_param.bias_term,
    "InnerProduct": lambda layer: 1 + layer.inner_product_param.bias_term,
    "Embed": lambda layer: 1 + layer.embed_param.bias_term,
    "Scale": lambda layer: (len(layer.bottom) == 1) + layer.scale_param.bias_term,
    "Bias": lambda layer: int(len(layer.bottom) == 1),
    "PReLU": lambda layer: 1,
    "BatchNorm": lambda layer: 3,
}


def input_gradients_only(net):
    """Make Caffe compute the gradients of the inputs and none of the weights
    (see weight_gradients in the module's docstring); return notes."""
    notes = []
    if net.force_backward:
        net.force_backward = False
        notes.append("force_backward off: it turns every weight gradient on")
    frozen = [layer.name for layer in net.layer if _freeze(layer)]
    if frozen:
        notes.append("lr_mult 0 (no weight gradient): " + ", ".join(frozen))
    notes += [f"identity Scale {name} on input {blob}: the input needs a gradient"
              for name, blob in _scale_inputs(net)]
    notes += [f"loss_weight 1 on output {name}: every layer backpropagates" for name in _weigh_outputs(net)]
    return notes


def _freeze(layer):
    """lr_mult 0 on every param of `layer`; whether it has params."""
    count = _PARAM_BLOBS.get(layer.type, lambda layer: len(layer.param))(layer)
    while len(layer.param) < count:
        layer.param.add()
    for param in layer.param:
        param.lr_mult = 0
    return count > 0


def _scale_inputs(net):
    """Put an in-place Scale by a learnable 1 after each input (its one
    lr_mult-1 param makes Caffe backpropagate from there down to the input)."""
    from caffe.proto import caffe_pb2
    blobs = {blob for layer in net.layer for blob in [*layer.bottom, *layer.top]} | set(net.input)
    layers, added = [], []

    def scale(blob):
        layer = caffe_pb2.LayerParameter(name=_unused(blob + "_gradient", blobs), type="Scale",
                                         bottom=[blob], top=[blob])
        layer.scale_param.axis, layer.scale_param.num_axes = 0, 0  # one scalar; its filler is 1
        blobs.add(layer.name)
        added.append((layer.name, blob))
        return layer

    layers += [scale(blob) for blob in net.input]
    for layer in net.layer:
        layers.append(layer)
        if layer.type == "Input":
            layers += [scale(blob) for blob in layer.top]
    del net.layer[:]
    net.layer.extend(layers)
    return added


def _weigh_outputs(net):
    """loss_weight 1 on each top no later layer reads (0 on the layer's other
    tops); return the layers' names."""
    read_later, names = set(), []
    for layer in reversed(net.layer):
        outputs = [top not in read_later for top in layer.top]
        if any(outputs) and not layer.loss_weight and layer.type != "Input":
            layer.loss_weight.extend(float(out) for out in outputs)
            names.append(layer.name)
        read_later.update(layer.bottom)
    return names[::-1]


def input_batch_sizes(net):
    """The first dimension of each input, whatever form the inputs take."""
    return [shape[0] for _name, shape in input_shapes(net) if shape]


def input_shapes(net):
    """(name, [dim, ...]) of each input, whatever form the inputs take."""
    shapes = [(net.input[i // 4] if i // 4 < len(net.input) else "?", list(net.input_dim[i:i + 4]))
              for i in range(0, len(net.input_dim), 4)]
    shapes += [(name, list(shape.dim)) for name, shape in zip(net.input, net.input_shape)]
    shapes += [(top, list(shape.dim)) for layer in net.layer if layer.type == "Input"
               for top, shape in zip(layer.top, layer.input_param.shape)]
    return shapes


def set_batch_size(net, n):
    """Set the first dimension of every input of `net` to `n`; return where."""
    where = []
    for i in range(0, len(net.input_dim), 4):
        net.input_dim[i] = n
        where.append(f"input_dim of {net.input[i // 4]}")
    for name, shape in zip(net.input, net.input_shape):
        shape.dim[0] = n
        where.append(f"input_shape of {name}")
    for layer in net.layer:
        if layer.type == "Input":
            for shape in layer.input_param.shape:
                shape.dim[0] = n
            where.append(f"Input layer {layer.name}")
    return where


def patched_path(src, options, stamp=None):
    """Where the patched copy of `src` goes (see the module's docstring):
    `<name>.patched.prototxt` beside a source under NETS_DIR (other options
    than the defaults add a short hash), unless that folder is read-only;
    else `<cache>/<key>/<name>.patched.prototxt`, the key a hash of `stamp`
    (default: made from the file's current text and `options`)."""
    directory, name = os.path.split(os.path.abspath(src))
    stem = name.rsplit(".", 1)[0] if name.endswith((".prototxt", ".protxt")) else name
    nets = _nets_dir()
    if nets and _is_under(src, nets) and _writable(directory):
        defaults = dict(force_backward=True, drop_cudnn=options["drop_cudnn"], flexible_batch=True,
                        relu_out_of_place=False, batch_size=None)
        tag = "" if options == defaults else "-" + text_sha256(json.dumps(options, sort_keys=True))[:8]
        return os.path.join(directory, f"{stem}.patched{tag}.prototxt")
    if stamp is None:
        stamp = _stamp(text_sha256(_read(src)), options)
    return os.path.join(cache_dir(), text_sha256(stamp)[:32], f"{stem}.patched.prototxt")


def cache_dir():
    """The folder of the cached patched copies: $PREFINPUT_PROTOTXT_CACHE, else
    ${XDG_CACHE_HOME:-~/.cache}/preferred-inputs/prototxt."""
    return cache_folder("PREFINPUT_PROTOTXT_CACHE", "prototxt")


def _nets_dir():
    """settings.nets_dir (or $NETS_DIR), where the harness downloads the models;
    None where neither is to be had (prefinput used without the repository's
    settings.py)."""
    try:
        return setting("nets_dir")
    except (ImportError, AttributeError):
        return None


def _is_under(path, folder):
    """Whether `path` lies in `folder`, comparing real paths (symlinks resolved)."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([path, folder]) == folder


def caffe_has_cudnn():
    return caffe_links("libcudnn")


def caffe_links(library):
    """Whether loading pycaffe mapped `library` into this process (Linux)."""
    import caffe  # noqa: F401  (loads libcaffe and the libraries it links)
    try:
        with open("/proc/self/maps") as maps:
            return library in maps.read()
    except OSError:
        return False


def _upgrade(text, src):
    tool = _upgrade_tool()
    with tempfile.TemporaryDirectory() as tmp:
        old, new = os.path.join(tmp, "old.prototxt"), os.path.join(tmp, "new.prototxt")
        with open(old, "w") as f:
            f.write(text)
        done = subprocess.run([tool, old, new], capture_output=True, text=True)
        if done.returncode != 0 or not os.path.exists(new):
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise UserError(f"{src}: Caffe's upgrade_net_proto_text failed: {last}")
        return _read(new)


def _upgrade_tool():
    """Caffe's upgrade_net_proto_text: in $CAFFE_BIN, in the bin/ of the
    install pycaffe comes from (prefix/lib/python3/dist-packages/caffe or
    prefix/python/caffe), or on the PATH."""
    import caffe
    package = pathlib.Path(caffe.__file__).resolve().parent
    folders = [os.environ.get("CAFFE_BIN"), *(parent / "bin" for parent in package.parents[:4])]
    for folder in filter(None, folders):
        tool = os.path.join(folder, "upgrade_net_proto_text")
        if os.access(tool, os.X_OK):
            return tool
    found = shutil.which("upgrade_net_proto_text")
    if not found:
        raise UserError("this net definition is in Caffe's old V0/V1 format and Caffe's upgrade_net_proto_text "
                        "was not found; set CAFFE_BIN to the folder holding it (Caffe's build/tools)")
    return found


def in_place_layers(src, names):
    """Those of `names` that name an in-place layer (its top is its bottom) of
    the definition `src` and no blob: what out_of_place needs for them."""
    src = os.path.abspath(os.fspath(src))
    net, _ = parse(_read(src), src)
    blobs = {blob for layer in net.layer for blob in [*layer.top, *layer.bottom]} | set(net.input)
    return sorted({layer.name for layer in net.layer if layer.name in names and layer.name not in blobs
                   and len(layer.bottom) == 1 and list(layer.top) == list(layer.bottom)})


def _unused(name, taken):
    while name in taken:
        name += "_out"
    return name


def _writable(directory):
    # Root ignores permissions: honour a read-only folder (shared fixtures, a
    # read-only volume) by its mode bits too.
    mode = os.stat(directory).st_mode
    return os.access(directory, os.W_OK) and (os.geteuid() != 0 or bool(mode & 0o200))


def _verified_stamp(path):
    """The stamp of the patched copy at `path` if its body is the one written
    (the sha256 beside the stamp), else None: an edited copy is made again."""
    try:
        with open(path) as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return None
    lines = text.split("\n")
    header = list(itertools.takewhile(lambda line: line.startswith("#"), lines))
    marks = [line[len(_MARK):] for line in header if line.startswith(_MARK)]
    if len(marks) != 1 or f" {_BODY}" not in marks[0]:
        return None
    stamp, digest = marks[0].rsplit(f" {_BODY}", 1)
    body = "\n".join(lines[len(header):])
    return stamp if text_sha256(body) == digest else None


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        raise UserError(f"net definition not found: {path}; check the path") from None
    except OSError as error:
        raise UserError(f"cannot read net definition {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a Caffe net definition: it is a binary file, not text (is it the "
                        f".caffemodel?); give the .prototxt") from None


def main(argv=None):
    parser = ArgumentParser(prog="nets/patch_prototxt.sh", description=(
        "Write a patched copy of a Caffe net definition (the original stays untouched): "
        "force_backward, no cuDNN engine where Caffe lacks cuDNN, a flexible Reshape batch."))
    parser.add_argument("src", help="the .prototxt to patch")
    parser.add_argument("-o", "--output", help=(
        "where to write (default: <name>.patched.prototxt beside SRC when SRC is under NETS_DIR, "
        "else in the cache, $PREFINPUT_PROTOTXT_CACHE or ~/.cache/preferred-inputs/prototxt)"))
    parser.add_argument("--relu-out-of-place", action="store_true",
                        help="give in-place ReLUs their own top, so pre-ReLU features stay readable")
    parser.add_argument("--batch-size", type=int, help="first dimension of every input")
    parser.add_argument("--cudnn", choices=("auto", "drop", "keep"), default="auto",
                        help="engine: CUDNN fields: drop where this Caffe lacks cuDNN (auto), always, never")
    parser.add_argument("--fixed-batch", dest="flexible_batch", action="store_false",
                        help="leave the Reshape layers' batch dimension as it is")
    parser.add_argument("--no-force-backward", dest="force_backward", action="store_false")
    parser.add_argument("--no-weight-gradients", dest="weight_gradients", action="store_false",
                        help="gradients reach the inputs but Caffe computes no weight gradient (faster)")
    args = parser.parse_args(argv)
    print(patch(args.src, args.output, force_backward=args.force_backward,
                drop_cudnn={"auto": None, "drop": True, "keep": False}[args.cudnn],
                flexible_batch=args.flexible_batch, relu_out_of_place=args.relu_out_of_place,
                batch_size=args.batch_size, weight_gradients=args.weight_gradients))


if __name__ == "__main__":
    sys.argv[0] = "nets/patch_prototxt.sh"  # errors name the script the user ran
    run(main)
