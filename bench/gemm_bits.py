#!/usr/bin/env python3
"""Why Caffe still convolves one image at a time: one GEMM over the batch
rounds otherwise than a GEMM per image.

For CaffeNet's and the fc6 generator's convolution GEMMs (weights x im2col
columns, as Caffe's forward_cpu_gemm calls them), the products of 5 images
one by one against one product over the 5 images' columns side by side
(what a batched convolution would compute), with the OpenBLAS Caffe links
(Debian's libopenblas.so.0) and its kernels as OPENBLAS_CORETYPE selects
(prefinput makes that Haswell's, the goldens').  Prints how many outputs
differ.

    .venv/bin/python bench/gemm_bits.py    # seconds
"""
import ctypes
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]
import prefinput  # noqa: E402,F401  (chooses the kernels before OpenBLAS and numpy load)

import numpy as np  # noqa: E402

ROW_MAJOR, NO_TRANS = 101, 111
BATCH = 5
# (output channels per group, output positions, kernel size x input channels per group)
SHAPES = {"conv1": (96, 55 * 55, 363), "conv2": (128, 27 * 27, 1200), "conv3": (384, 13 * 13, 2304),
          "conv5": (128, 13 * 13, 1728), "generator conv5_1": (256, 8 * 8, 2304),
          "generator conv3_1": (128, 32 * 32, 1152)}


def openblas():
    library = ctypes.CDLL("libopenblas.so.0")
    library.openblas_get_corename.restype = ctypes.c_char_p
    return library


def sgemm(library, a, b):
    """a (M x K) @ b (K x N), row-major, by cblas_sgemm."""
    (m, k), n = a.shape, b.shape[1]
    c = np.empty((m, n), np.float32)
    pointer = ctypes.POINTER(ctypes.c_float)
    library.cblas_sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, m, n, k, ctypes.c_float(1.0), a.ctypes.data_as(pointer), k,
                        b.ctypes.data_as(pointer), n, ctypes.c_float(0.0), c.ctypes.data_as(pointer), n)
    return c


def differing(library, outputs, positions, inner, state):
    weights = state.normal(0, 1, (outputs, inner)).astype(np.float32)
    columns = [state.normal(0, 1, (inner, positions)).astype(np.float32) for _ in range(BATCH)]
    one_by_one = np.concatenate([sgemm(library, weights, c) for c in columns], axis=1)
    together = sgemm(library, weights, np.ascontiguousarray(np.concatenate(columns, axis=1)))
    return int((one_by_one != together).sum()), one_by_one.size


def main():
    library = openblas()
    print(f"OpenBLAS {library.openblas_get_corename().decode()} kernels, {BATCH} images")
    for threads in (1, 2):
        library.openblas_set_num_threads(threads)
        for name, shape in SHAPES.items():
            count, size = differing(library, *shape, np.random.RandomState(0))
            print(f"  {threads} thread{'s' if threads > 1 else ' '} {name:<18} {count:>7} of {size:>8} outputs "
                  f"differ ({count / size:.1%})")


if __name__ == "__main__":
    main()
