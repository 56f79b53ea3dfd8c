"""The same numbers on every x86-64 CPU with AVX2 and FMA: the goldens' code
paths unless the user chose.

Two libraries pick their code by CPU when they load, and round differently
on different machines:
- OpenBLAS (Caffe's, and the copies inside numpy's and scipy's wheels).
  Debian's 0.3.21 falls back to Prescott's SSE3 kernels on CPUs newer than
  it knows (three to six times slower) and picks AVX-512 kernels on others.
  The goldens were made with the Haswell kernels (OPENBLAS_CORETYPE=Haswell).
- numpy 1.26, which computes float64 `x ** p`, `log10`, `exp` and `log` with
  its own SIMD routines where the CPU has AVX-512 and with the C library's
  elsewhere; they differ in the last bit now and then (cnn-vis's
  regularisers).  The goldens are the C library's numbers:
  NPY_DISABLE_CPU_FEATURES naming numpy's AVX-512 features.

Both variables are read once, when the library loads, so `import prefinput`
sets them (where unset) before Caffe and numpy load: every program imports
prefinput first.  A caller that imported numpy earlier is told so in one line.

    python3 prefinput/cpu.py    # prints the pinned environment of the tests
"""
import os
import sys

GOLDEN_KERNELS = "Haswell"
NEEDED_FLAGS = {"avx2", "fma"}  # what the Haswell kernels execute
# numpy's AVX-512 dispatch targets (numpy.core._multiarray_umath.__cpu_dispatch__);
# naming one the CPU lacks is harmless.
NUMPY_AVX512 = "AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL"
# The goldens' environment: the defaults above, and OpenBLAS on one thread
# (more threads change the low bits of some products).
PINNED = {"OPENBLAS_CORETYPE": GOLDEN_KERNELS, "OPENBLAS_NUM_THREADS": "1", "NPY_DISABLE_CPU_FEATURES": NUMPY_AVX512}


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


def choose_numpy_paths(environ=os.environ):
    """Set NPY_DISABLE_CPU_FEATURES to numpy's AVX-512 features where it is
    unset; return the value that holds."""
    return environ.setdefault("NPY_DISABLE_CPU_FEATURES", NUMPY_AVX512)


def numpy_avx512_paths():
    """numpy's AVX-512 features that are on in this process (it must have
    imported numpy)."""
    core = sys.modules.get("numpy.core._multiarray_umath") or sys.modules.get("numpy._core._multiarray_umath")
    features = getattr(core, "__cpu_features__", {})
    return [name for name in NUMPY_AVX512.split() if features.get(name)]


def pin(environ=os.environ, stderr=sys.stderr):
    """Choose both libraries' paths; if numpy is loaded already, say in one
    line that this process keeps its own."""
    numpy_loaded_before = "numpy" in sys.modules
    choose_kernels(environ)
    choose_numpy_paths(environ)
    if numpy_loaded_before and numpy_avx512_paths():
        print(f"prefinput: numpy was imported before prefinput, so this process keeps numpy's AVX-512 "
              f"routines (float64 power, log, exp may differ in the last bit from other machines'); import "
              f"prefinput first, or start Python with {environment_line(PINNED, 'NPY_DISABLE_CPU_FEATURES')}",
              file=stderr)


def environment_line(variables, *names):
    """`NAME="value" ...` for the shell, of the given names (all if none)."""
    return " ".join(f'{name}="{variables[name]}"' for name in (names or variables))


if __name__ == "__main__":
    print(environment_line(PINNED))
