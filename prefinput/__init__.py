"""What the harness's scripts share: Caffe nets (fetching, patching, loading),
image files with the old scipy.misc semantics, command-line plumbing, labels
and montages.  The algorithms themselves stay in the top-level scripts and in
`cnnpref`, where a reader expects them.

Importing it first, before numpy and Caffe load, gives the goldens' numbers
on every CPU (prefinput/cpu.py)."""

from prefinput import cpu as _cpu

_cpu.pin()
