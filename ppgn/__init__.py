"""PPGN's own pieces, shared by sampling_class.py and sampling_caption.py (the
original's util.py and the common half of their main()); the sampler itself
is sampler.py, where a reader of the original looks for it."""

import prefinput  # noqa: F401  first, before numpy loads: the goldens' numbers on every CPU (prefinput/cpu.py)
