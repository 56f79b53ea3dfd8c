"""cnn-vis's own pieces (cnn_vis.py is the program): its objectives and
regularisers, the tiling of a large image into the net's regions, and its
output (progress lines, pixel traces, a window)."""

import prefinput  # noqa: F401  first, before numpy loads: the goldens' numbers on every CPU (prefinput/cpu.py)
