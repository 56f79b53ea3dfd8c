"""What two or more methods share, the bottom layer: the loops' pieces
(steps, objectives), Caffe nets (netdefs: patching, checking, loading), the
model registry (registry: catalogue, fetching, nets/download.sh), image files
with the old scipy.misc semantics, collages, command-line plumbing and the
errors.  It imports nothing above it: a method's own pieces are in cnnvis/
and ppgn/ beside its program, the harness above the programs in harness/,
and the algorithms themselves stay in the top-level scripts and in
`cnnpref`, where a reader expects them.

Importing it first, before numpy and Caffe load, gives the goldens' numbers
on every CPU (prefinput/cpu.py)."""

from prefinput import cpu as _cpu

_cpu.pin()
