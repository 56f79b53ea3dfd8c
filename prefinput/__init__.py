"""What the harness's scripts share: Caffe nets (fetching, patching, loading),
image files with the old scipy.misc semantics, command-line plumbing, labels
and montages.  The algorithms themselves stay in the top-level scripts and in
`cnnpref`, where a reader expects them."""

from prefinput import blas as _blas

_blas.choose_kernels()
