"""The harness above the programs: the example scripts' pictures and their
manifests, the comparison with the published pictures (regression.py), the
sweep grid and its gallery (sweep.py).  It imports prefinput, cnnvis and
ppgn, never a program."""

import prefinput  # noqa: F401  first, before numpy loads: the goldens' numbers on every CPU (prefinput/cpu.py)
