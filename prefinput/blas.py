"""OpenBLAS's kernels: the goldens' unless the user chose.

Debian's OpenBLAS 0.3.21 picks its kernels from the CPU when it loads.  On a
CPU newer than it knows (the Xeons these machines had in December 2026) it
falls back to Prescott's SSE3 kernels, three to six times slower than its
Haswell ones; on others it picks AVX-512 kernels, which round otherwise.  The
goldens were made with the Haswell kernels (OPENBLAS_CORETYPE=Haswell), so
the harness asks for those wherever the CPU can run them and
OPENBLAS_CORETYPE is unset: the same numbers on every such machine, and
Caffe's exact one-row products (docs/performance.md) run with them.

OpenBLAS reads the variable once, when a library linking it loads, so this
runs when `prefinput` is imported, before Caffe is."""
import os

GOLDEN_KERNELS = "Haswell"
NEEDED_FLAGS = {"avx2", "fma"}  # what the Haswell kernels execute


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The CPU's feature flags as Linux lists them; empty where unknown."""
    try:
        with open(cpuinfo) as lines:
            for line in lines:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def choose_kernels(environ=os.environ, flags=None):
    """Set OPENBLAS_CORETYPE to the goldens' kernels where it is unset and
    the CPU has what they need; return the value that holds."""
    if "OPENBLAS_CORETYPE" not in environ and NEEDED_FLAGS <= (cpu_flags() if flags is None else flags):
        environ["OPENBLAS_CORETYPE"] = GOLDEN_KERNELS
    return environ.get("OPENBLAS_CORETYPE")
