"""Timers, the arithmetic floor, a per-layer profile and subprocess runs with
their peak memory: what bench/run.py measures with."""
import contextlib
import os
import subprocess
import tempfile
import time

import numpy as np

WEIGHTED = ("Convolution", "Deconvolution", "InnerProduct")


def median_time(function, repeats=5):
    """Median wall time of `function()` over `repeats` calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def gemm_rate(sizes=((1024, 1024, 1024), (384, 2304, 169), (256, 1200, 729))):
    """Best single-precision GEMM rate (FLOP/s) of numpy's BLAS in this process
    over a square product and the shapes of CaffeNet's conv3 and conv2 GEMMs."""
    rng = np.random.RandomState(0)
    best = 0.0
    for m, k, n in sizes:
        a, b = rng.rand(m, k).astype(np.float32), rng.rand(k, n).astype(np.float32)
        a @ b  # warm up: threads, caches
        best = max(best, 2.0 * m * k * n / median_time(lambda: a @ b, 7))
    return best


def copy_bandwidth(megabytes=256):
    """Memory bandwidth (bytes read + written per second) of a large array copy."""
    source = np.ones(megabytes * 2 ** 18, dtype=np.float32)
    target = np.empty_like(source)
    np.copyto(target, source)
    return 2.0 * source.nbytes / median_time(lambda: np.copyto(target, source), 5)


def layer_flops(net, end=None):
    """Multiply-add FLOPs (2 per MAC) of each weighted layer's forward pass up
    to layer `end`, as {layer name: flops}; a weight gradient or an input
    gradient costs the same again."""
    flops = {}
    for name, layer in zip(net._layer_names, net.layers):
        if layer.type in WEIGHTED:
            weights = layer.blobs[0].data
            if layer.type == "InnerProduct":
                positions = net.blobs[net.bottom_names[name][0]].data.shape[0]
            elif layer.type == "Convolution":
                top = net.blobs[net.top_names[name][0]].data.shape
                positions = top[0] * top[2] * top[3]
            else:  # a deconvolution's GEMM runs over its input's positions
                bottom = net.blobs[net.bottom_names[name][0]].data.shape
                positions = bottom[0] * bottom[2] * bottom[3]
            flops[name] = 2.0 * weights.size * positions
        if name == end:
            break
    return flops


def weight_bytes(net, end=None):
    """Bytes of the fully-connected weights up to layer `end`: what each
    pass must read from memory at batch 1 (they do not fit in a cache)."""
    total = 0
    for name, layer in zip(net._layer_names, net.layers):
        if layer.type == "InnerProduct":
            total += layer.blobs[0].data.nbytes
        if name == end:
            break
    return total


def profile(net, first, last, repeats=3):
    """Median forward and backward time of each layer from index `first` to
    `last`, with the blobs as the last pass left them: [(name, type, fw, bw)]."""
    rows = []
    for index in range(first, last + 1):
        forward = median_time(lambda: net._forward(index, index), repeats)
        backward = median_time(lambda: net._backward(index, index), repeats)
        rows.append((net._layer_names[index], net.layers[index].type, forward, backward))
    return rows


STOCK_SWITCH = "CAFFE_ONE_ROW_GEMM"  # Caffe reads it at every product


@contextlib.contextmanager
def stock_caffe():
    """Caffe's InnerProduct as the originals ran it, OpenBLAS's packed GEMM,
    without docker/patches/0003's exact products (the same bits at batch 1;
    a batch rounds otherwise)."""
    before = os.environ.get(STOCK_SWITCH)
    os.environ[STOCK_SWITCH] = "0"
    try:
        yield
    finally:
        if before is None:
            del os.environ[STOCK_SWITCH]
        else:
            os.environ[STOCK_SWITCH] = before


def run_process(command, env=None):
    """Run `command`, with `env` added to this environment; (wall seconds,
    its peak resident memory in bytes).  The peak is the process's own VmHWM,
    read while it runs (getrusage's ru_maxrss of a child counts this
    process's memory at the fork)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, **(env or {})))
        peak = 0
        while process.poll() is None:
            peak = max(peak, resident_peak(process.pid))
            time.sleep(0.02)
        seconds = time.perf_counter() - start
        if process.returncode != 0:
            log.seek(0)
            tail = log.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{tail}")
    return seconds, peak


def resident_peak(pid):
    """VmHWM of process `pid` in bytes (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
