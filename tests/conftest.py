"""Fixtures shared by the tests, so that no test module imports another (or
this file): where the repository and the read-only ../shared folder (tiny
nets, goldens, reference data) are, skipped with a reason where it is absent;
the goldens; a loopback HTTP server; the tiny LRCN captioner and the PPGN
example scripts' environment, built once per session; regression.py's main
in this process and the pictures its tests make.

The repository root goes on sys.path here, once, so that the test modules
can import the programs (act_max, sampling_class, ...) and prefinput however
pytest is started."""
import http.server
import json
import os
import re
import sys
import threading
import urllib.parse
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DIR") or REPO.parent / "shared")

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "goldens(pattern, fallback=None): parametrize the test's `name` over the golden .npz files "
                   "under ../shared/fixtures/golden matching pattern (or [fallback] where none does)")
    config.addinivalue_line(
        "markers", "repo_files(argname, pattern): parametrize argname over the repository's files matching "
                   "pattern (sorted), with their stems as ids")


# Measured with `make test TESTS=--durations=0`: the folders and modules whose
# tests start programs, scripts or Caffe's own suite, 11 to 225 seconds each;
# the rest of the suite runs in about a minute (README, "Set-up").
SLOW = {"examples", "test_caffe_build", "test_model_fuzz", "test_user_mistakes", "test_never_destroy",
        "test_sweep", "test_regression", "test_regression_ppgn"}


def pytest_collection_modifyitems(config, items):
    """slow by folder or module (SLOW), golden where a test reads a golden."""
    for item in items:
        if {item.path.parent.name, item.path.stem} & SLOW:
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("goldens") or "load_golden" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.golden)


def pytest_generate_tests(metafunc):
    """The parameter lists that depend on where the repository and ../shared
    are: made here at collection, not by the test modules at import."""
    goldens = metafunc.definition.get_closest_marker("goldens")
    if goldens:
        names = sorted(path.name for path in (SHARED / "fixtures" / "golden").glob(goldens.args[0]))
        fallback = goldens.kwargs.get("fallback")
        metafunc.parametrize("name", names or ([fallback] if fallback else []))
    files = metafunc.definition.get_closest_marker("repo_files")
    if files:
        argname, pattern = files.args
        paths = sorted(REPO.glob(pattern))
        metafunc.parametrize(argname, paths, ids=[path.stem for path in paths])


# --- where things are ---------------------------------------------------------

@pytest.fixture(scope="session", autouse=True)
def modelcheck_cache(tmp_path_factory):
    """The model files' verdicts (prefinput.netdefs.modelcheck) go to a folder of the
    session's, for the tests and the programs they start, not the user's cache."""
    folder = tmp_path_factory.mktemp("modelcheck")
    old = os.environ.get("PREFINPUT_MODELCHECK_CACHE")
    os.environ["PREFINPUT_MODELCHECK_CACHE"] = str(folder)
    yield folder
    if old is None:
        del os.environ["PREFINPUT_MODELCHECK_CACHE"]
    else:
        os.environ["PREFINPUT_MODELCHECK_CACHE"] = old


@pytest.fixture(scope="session")
def repo():
    """The repository's root folder (a Path)."""
    return REPO


@pytest.fixture(scope="session")
def shared():
    """The ../shared folder (or $SHARED_DIR), whether or not it is there."""
    return SHARED


def _shared_path(*parts):
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: these tests need the project's ../shared folder (or SHARED_DIR)")
    return path


@pytest.fixture(scope="session")
def shared_path():
    """shared_path(*parts): a path under ../shared, or a skip saying it is missing."""
    return _shared_path


@pytest.fixture(scope="session")
def tiny():
    """Paths of the tiny nets: tiny['classifier'] -> (prototxt, caffemodel), ...
    (one dict for the session: read it, do not change it)"""
    folder = _shared_path("fixtures", "tiny")
    return {
        "classifier": (str(folder / "classifier.prototxt"), str(folder / "classifier.caffemodel")),
        "generator": (str(folder / "generator.prototxt"), str(folder / "generator.caffemodel")),
        "fc6_bound": str(folder / "fc6_bound.txt"),
    }


def _load_golden(name):
    with np.load(_shared_path("fixtures", "golden", name), allow_pickle=False) as data:
        golden = {key: data[key] for key in data.files}
    golden["args"] = json.loads(str(golden["args"]))
    return golden


@pytest.fixture(scope="session")
def load_golden():
    """load_golden(name): a golden .npz as a dict, its `args` JSON parsed (or a skip where it is missing)."""
    return _load_golden


@pytest.fixture
def pinned_environment():
    """Skip unless this process started in the goldens' environment
    (prefinput/cpu.py's PINNED; make test sets it)."""
    from prefinput import cpu
    wrong = {k: os.environ.get(k) for k, v in cpu.PINNED.items() if os.environ.get(k) != v}
    if wrong or cpu.numpy_avx512_paths():
        pytest.skip(f"golden comparisons need {cpu.environment_line(cpu.PINNED)} set before Python starts "
                    f"(have {wrong or 'numpy started without it'}); run `make test`")


# --- a loopback HTTP server ---------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    """Static files from server.root, with Range support unless server.ranges
    is off; server.cuts[path] = n sends only n bytes of the next reply to path."""

    def do_GET(self):
        server = self.server
        server.requests.append((self.path, self.headers.get("Range")))
        path = os.path.join(server.root, urllib.parse.unquote(self.path.lstrip("/")))
        if not os.path.isfile(path):
            self.send_error(404)
            return
        with open(path, "rb") as f:
            data = f.read()
        start, asked = 0, self.headers.get("Range")
        if asked and server.ranges:
            start = int(re.match(r"bytes=(\d+)-", asked).group(1))
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:server.cuts.pop(self.path, len(body))])

    def log_message(self, *args):
        pass


class Loopback:
    """A loopback HTTP server of the folder `root`, serving until close():
    .url, and the server's .root, .requests, .cuts and .ranges."""

    def __init__(self, root):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.root, self.httpd.requests, self.httpd.cuts, self.httpd.ranges = str(root), [], {}, True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def __getattr__(self, name):  # root, requests, cuts, ranges
        return getattr(self.httpd, name)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def loopback():
    """loopback(root): a started Loopback server of the folder root; the caller closes it."""
    return Loopback


# --- the tiny LRCN captioner (PPGN example 5) ---------------------------------

LRCN_WORDS = ["<unk>", "a", "red", "car", "on", "the", "road", "dog"]
LRCN_BATCH = 8   # LRCN's deploy net reads 20 copies of one stream; 8 are enough here
LRCN_HIDDEN = 6


def lrcn_definition(features):
    """The LRCN word-to-predictions deploy net, small."""
    import caffe
    from caffe import layers as L
    uniform = dict(type="uniform", min=-0.5, max=0.5)
    n = caffe.NetSpec()
    n.cont_sentence = L.Input(shape=dict(dim=[1, LRCN_BATCH]))
    n.input_sentence = L.Input(shape=dict(dim=[1, LRCN_BATCH]))
    n.image_features = L.Input(shape=dict(dim=[LRCN_BATCH, features]))
    n.embedded_input_sentence = L.Embed(n.input_sentence, input_dim=len(LRCN_WORDS) + 1, num_output=LRCN_HIDDEN,
                                        bias_term=False, weight_filler=uniform)
    n.lstm1 = L.LSTM(n.embedded_input_sentence, n.cont_sentence,
                     recurrent_param=dict(num_output=LRCN_HIDDEN, weight_filler=uniform, bias_filler=uniform))
    n.lstm2 = L.LSTM(n.lstm1, n.cont_sentence, n.image_features, propagate_down=[False, False, True],
                     recurrent_param=dict(num_output=LRCN_HIDDEN, weight_filler=uniform, bias_filler=uniform))
    n.predict = L.InnerProduct(n.lstm2, num_output=len(LRCN_WORDS) + 1, axis=2,
                               weight_filler=dict(type="uniform", min=-2, max=2))
    n.probs = L.Softmax(n.predict, axis=2)
    n.log_prob = L.Log(n.probs)
    net = n.to_proto()
    net.name = "caffenet_to_lstm"
    net.force_backward = True
    [embed] = [layer for layer in net.layer if layer.type == "Embed"]
    embed.name = "embedding"  # LRCN's layer name; its top keeps the blob name
    return net


@pytest.fixture(scope="session")
def lrcn(tmp_path_factory):
    """Paths of the tiny captioner: its definition, one weights file holding
    the classifier's and the LSTM's layers (as LRCN's does), the vocabulary."""
    caffe = pytest.importorskip("caffe", reason="pycaffe is not importable: run `make setup` first")
    from caffe.proto import caffe_pb2
    folder = tmp_path_factory.mktemp("lrcn")
    tiny = _shared_path("fixtures", "tiny")
    definition = folder / "lrcn_word_to_preds.deploy.prototxt"
    definition.write_text(str(lrcn_definition(features=10)))
    caffe.set_random_seed(0)
    lstm_weights = folder / "lstm.caffemodel"
    caffe.Net(str(definition), caffe.TEST).save(str(lstm_weights))
    combined = caffe_pb2.NetParameter()
    combined.ParseFromString((tiny / "classifier.caffemodel").read_bytes())
    lstm = caffe_pb2.NetParameter()
    lstm.ParseFromString(lstm_weights.read_bytes())
    combined.layer.extend(lstm.layer)
    weights = folder / "lrcn.caffemodel"
    weights.write_bytes(combined.SerializeToString())
    vocab = folder / "vocabulary.txt"
    vocab.write_text("\n".join(LRCN_WORDS) + "\n")
    return {"captioner_definition": str(definition), "net_weights": str(weights), "vocab_file": str(vocab),
            "net_definition": str(tiny / "classifier.prototxt")}


@pytest.fixture(scope="session")
def lrcn_batch():
    """How many streams the tiny captioner (lrcn) reads at once."""
    return LRCN_BATCH


# --- the PPGN example scripts ---------------------------------------------------

@pytest.fixture(scope="session")
def ppgn_environment(tmp_path_factory):
    """The PPGN example scripts' environment: tiny nets, reference data files, no downloads."""
    tiny = _shared_path("fixtures", "tiny")
    ppgn = _shared_path("reference", "ppgn")
    env = dict(os.environ, PYTHON=sys.executable, PREFINPUT_OFFLINE="1",
               NETS_DIR=str(tmp_path_factory.mktemp("nets")),
               NET_DEFINITION=str(tiny / "classifier.prototxt"), NET_WEIGHTS=str(tiny / "classifier.caffemodel"),
               ENCODER_DEFINITION=str(tiny / "classifier.prototxt"),
               ENCODER_WEIGHTS=str(tiny / "classifier.caffemodel"),
               PPGN_GENERATOR_DEFINITION=str(tiny / "generator.prototxt"),
               PPGN_GENERATOR_WEIGHTS=str(tiny / "generator.caffemodel"),
               SYNSET_FILE=str(ppgn / "misc" / "synset_words.txt"),
               MEAN_FILE_MAT=str(ppgn / "misc" / "ilsvrc_2012_mean.mat"),
               INIT_FILE=str(ppgn / "images" / "volcano.jpg"))
    return env


def _run_ppgn_example(script, argument, cwd, env, **overrides):
    import subprocess
    result = subprocess.run(["bash", str(REPO / script), argument], cwd=cwd, env=dict(env, **overrides),
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    return result


@pytest.fixture(scope="session")
def run_ppgn_example():
    """run_ppgn_example(script, argument, cwd, env, **overrides): run the
    repository's example `script` with bash; the finished process, status 0."""
    return _run_ppgn_example


# --- regression.py --------------------------------------------------------------

@pytest.fixture
def regression_main(monkeypatch, capsys):
    """scoring.main in this process; (exit status, what it printed)."""
    from harness import scoring
    monkeypatch.setenv("PREFINPUT_OFFLINE", "1")

    def run(*args):
        capsys.readouterr()
        status = scoring.main([str(arg) for arg in args])
        return status, capsys.readouterr().out
    return run


def _panel(seed, size=27):
    state = np.random.RandomState(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    channels = [np.sin(state.uniform(2, 6) * x + state.uniform(2, 6) * y + state.uniform(0, 6)) for _ in range(3)]
    return ((np.stack(channels, axis=2) + 1) * 120 + 5).astype(np.uint8)


@pytest.fixture(scope="session")
def panel():
    """panel(seed, size=27): a smooth random RGB image (SSIM is meaningful on it)."""
    return _panel


def _sheet(images, path, tile, border=1):
    from prefinput import collage
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return collage.montage(images, str(path), tile=tile, border=border, trim=False)


@pytest.fixture(scope="session")
def sheet():
    """sheet(images, path, tile, border=1): a montage of `images` at `path` (its folder made), untrimmed."""
    return _sheet


@pytest.fixture(scope="session")
def bomb_png(tmp_path_factory):
    """A decompression bomb: a 20000x20000 palette PNG of 49 KB (written row by row, in a second)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    side = 20000
    pack = zlib.compressobj(9)
    row = bytes(1 + side // 8)  # a filter byte and 1 bit a pixel, all colour 0
    rows = b"".join(pack.compress(row) for _ in range(side)) + pack.flush()
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 3, 0, 0, 0)) +
                     chunk(b"PLTE", bytes([200, 30, 30, 30, 30, 200])) + chunk(b"IDAT", rows) + chunk(b"IEND", b""))
    return path


def _snapshot(folder):
    """{relative path: bytes} of every file below `folder`."""
    return {os.path.relpath(os.path.join(top, name), folder): open(os.path.join(top, name), "rb").read()
            for top, _, names in os.walk(folder) for name in names}


@pytest.fixture(scope="session")
def snapshot():
    """snapshot(folder) -> {relative path: bytes} of every file below it: what
    an earlier run left, to compare after a later one."""
    return _snapshot
