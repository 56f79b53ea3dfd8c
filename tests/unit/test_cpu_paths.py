"""The same numbers on every CPU with AVX2 and FMA (prefinput/cpu.py):
OpenBLAS's Haswell kernels and numpy's C-library float64 routines, chosen by
`import prefinput` wherever the user has not chosen, and in force in the
goldens' environment that `make test` sets."""
import math
import os
import subprocess
import sys

import numpy as np

from prefinput import cpu

CORENAME = """
import ctypes, prefinput, caffe
openblas = ctypes.CDLL("libopenblas.so.0")  # the one libcaffe loaded
openblas.openblas_get_corename.restype = ctypes.c_char_p
print(openblas.openblas_get_corename().decode())
"""

# float64 values where numpy's AVX-512 routines and the C library's disagree
# now and then (about one in four for power, on the machine this was found).
ROUTINES = """
import math, sys
IMPORT_ORDER
rng = numpy.random.default_rng(0)
x = rng.uniform(1e-3, 50.0, 4000)
routines = {"power": (x ** 1.7, [math.pow(v, 1.7) for v in x]), "log10": (numpy.log10(x), [math.log10(v) for v in x]),
            "exp": (numpy.exp(x), [math.exp(v) for v in x]), "log": (numpy.log(x), [math.log(v) for v in x])}
print(" ".join(f"{name}:{int((ours != numpy.array(c)).sum())}" for name, (ours, c) in routines.items()))
"""


def differing(result):
    """{'power': how many of numpy's values differ from math's, ...} from ROUTINES' print."""
    return {name: int(count) for name, count in (item.split(":") for item in result.stdout.split())}


def without_pins(**extra):
    return dict({k: v for k, v in os.environ.items() if k not in cpu.PINNED}, **extra)


def run_routines(repo, env, prefinput_first=True):
    order = "import prefinput, numpy" if prefinput_first else "import numpy, prefinput"
    return subprocess.run([sys.executable, "-c", ROUTINES.replace("IMPORT_ORDER", order)], cwd=repo, env=env,
                          capture_output=True, text=True, check=True)


def test_in_the_pinned_environment_numpys_float64_routines_are_the_c_librarys(pinned_environment):
    rng = np.random.default_rng(1)
    x = rng.uniform(1e-3, 50.0, 4000)
    for name, ours, theirs in [("power", x ** 1.7, [math.pow(v, 1.7) for v in x]),
                               ("log10", np.log10(x), [math.log10(v) for v in x]),
                               ("exp", np.exp(x), [math.exp(v) for v in x]),
                               ("log", np.log(x), [math.log(v) for v in x])]:
        assert np.array_equal(ours, theirs), (
            f"numpy's float64 {name} differs from the C library's: numpy's AVX-512 routines are on "
            f"({cpu.numpy_avx512_paths()}); NPY_DISABLE_CPU_FEATURES must name them before numpy is imported")


def test_by_default_prefinput_gives_numpy_the_c_librarys_routines(repo):
    """Nothing set by hand: `import prefinput` before numpy is enough."""
    result = run_routines(repo, without_pins())
    assert differing(result) == {"power": 0, "log10": 0, "exp": 0, "log": 0}, result.stdout
    assert result.stderr == ""


def test_numpy_imported_first_is_one_line_on_stderr_where_it_matters(repo):
    result = run_routines(repo, without_pins(), prefinput_first=False)
    if "avx512f" in cpu.cpu_flags():
        assert len(result.stderr.splitlines()) == 1 and "numpy was imported before prefinput" in result.stderr
        assert cpu.NUMPY_AVX512 in result.stderr  # the fix, to copy
    else:  # numpy runs the C library's routines anyway: nothing to say
        assert result.stderr == ""
        assert set(differing(result).values()) == {0}


def test_the_users_numpy_choice_stays(repo):
    environ = {"NPY_DISABLE_CPU_FEATURES": ""}
    assert cpu.choose_numpy_paths(environ) == "" == environ["NPY_DISABLE_CPU_FEATURES"]
    result = run_routines(repo, without_pins(NPY_DISABLE_CPU_FEATURES=""))
    assert result.stderr == ""  # the user chose: no warning either
    if "avx512f" in cpu.cpu_flags():
        assert differing(result)["power"] > 0  # numpy's own routines, as asked


def test_unset_it_becomes_the_goldens_kernels_where_the_cpu_has_avx2_and_fma():
    environ = {}
    assert cpu.choose_kernels(environ, {"sse2", "avx2", "fma"}) == "Haswell" == environ["OPENBLAS_CORETYPE"]


def test_the_users_kernels_stay():
    environ = {"OPENBLAS_CORETYPE": "SkylakeX"}
    assert cpu.choose_kernels(environ, {"avx2", "fma"}) == "SkylakeX" == environ["OPENBLAS_CORETYPE"]


def test_a_cpu_without_avx2_keeps_openblass_own_choice():
    environ = {}
    assert cpu.choose_kernels(environ, {"sse2", "sse3", "fma"}) is None and environ == {}


def test_the_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert cpu.cpu_flags(str(cpuinfo)) == {"fpu", "sse2", "avx2", "fma"}
    assert cpu.cpu_flags(str(tmp_path / "missing")) == set()


def test_caffe_loaded_after_prefinput_runs_the_goldens_kernels(repo):
    """In a fresh process with OPENBLAS_CORETYPE unset: OpenBLAS's own pick
    on this machine is not the point; what holds after `import prefinput`."""
    result = subprocess.run([sys.executable, "-c", CORENAME], cwd=repo, env=without_pins(), capture_output=True,
                            text=True, check=True)
    if cpu.NEEDED_FLAGS <= cpu.cpu_flags():
        assert result.stdout.strip() == "Haswell"
    else:
        assert result.stdout.strip() != "Haswell"


def test_the_makefile_pins_what_cpu_py_prints(repo):
    printed = subprocess.run(["python3", "prefinput/cpu.py"], cwd=repo, capture_output=True, text=True, check=True)
    assert printed.stdout.strip() == cpu.environment_line(cpu.PINNED)
    dry_run = subprocess.run(["make", "-n", "--no-print-directory", "test"], cwd=repo, capture_output=True,
                             text=True, check=True)
    assert dry_run.stdout.startswith(cpu.environment_line(cpu.PINNED) + " ")
