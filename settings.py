"""Paths and switches shared by act_max.py and the PPGN samplers, as in the
originals' settings.py.  The values live in prefinput/defaults.py (so the
shared package needs no top-level file); this module shows them under the
original name.  Every name can be overridden by an environment variable of
the same name in capitals, and by the programs' flag of the same name, e.g.
GENERATOR_WEIGHTS=... or --generator_weights ...
"""
from prefinput.defaults import *  # noqa: F401,F403
