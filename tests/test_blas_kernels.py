"""The harness asks OpenBLAS for the goldens' kernels (prefinput/blas.py)
wherever the CPU runs them and the user has not chosen."""
import os
import subprocess
import sys

from prefinput import blas

CORENAME = """
import ctypes, prefinput, caffe
openblas = ctypes.CDLL("libopenblas.so.0")  # the one libcaffe loaded
openblas.openblas_get_corename.restype = ctypes.c_char_p
print(openblas.openblas_get_corename().decode())
"""


def test_unset_it_becomes_the_goldens_kernels_where_the_cpu_has_avx2_and_fma():
    environ = {}
    assert blas.choose_kernels(environ, {"sse2", "avx2", "fma"}) == "Haswell" == environ["OPENBLAS_CORETYPE"]


def test_the_users_choice_stays():
    environ = {"OPENBLAS_CORETYPE": "SkylakeX"}
    assert blas.choose_kernels(environ, {"avx2", "fma"}) == "SkylakeX" == environ["OPENBLAS_CORETYPE"]


def test_a_cpu_without_avx2_keeps_openblass_own_choice():
    environ = {}
    assert blas.choose_kernels(environ, {"sse2", "sse3", "fma"}) is None and environ == {}


def test_the_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert blas.cpu_flags(str(cpuinfo)) == {"fpu", "sse2", "avx2", "fma"}
    assert blas.cpu_flags(str(tmp_path / "missing")) == set()


def test_caffe_loaded_after_prefinput_runs_them(repo):
    """In a fresh process with OPENBLAS_CORETYPE unset: OpenBLAS's own pick
    on this machine is not the point; what holds after `import prefinput`."""
    environ = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    result = subprocess.run([sys.executable, "-c", CORENAME], cwd=repo, env=environ, capture_output=True,
                            text=True, check=True)
    expected = "Haswell" if blas.NEEDED_FLAGS <= blas.cpu_flags() else None
    if expected:
        assert result.stdout.strip() == expected
    else:
        assert result.stdout.strip() != "Haswell"
