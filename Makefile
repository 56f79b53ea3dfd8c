# make setup   as root on Debian bookworm: ./setup.sh (system packages, Caffe (cached), .venv)
# make notebooks  the teaching notebooks (notebooks/) in JupyterLab
# make test    the test suite, Caffe's own tests included, in the pinned
#              environment the goldens need (TESTS="tests/unit tests/nets/test_x.py ...": only those)

PYTHON := .venv/bin/python
# The goldens are bit-exact only in this environment (../shared/fixtures/golden/README.md):
# OpenBLAS's Haswell kernels on one thread, numpy without its AVX-512 routines.
# prefinput/cpu.py holds the values and prints them.
PINNED = $(shell python3 prefinput/cpu.py)

.PHONY: setup test caffe cuda venv notebooks
setup:
	./setup.sh

caffe:
	bash docker/build_caffe.sh

cuda:
	bash docker/build_caffe.sh --cuda

venv:
	bash docker/make_venv.sh

# pytest's own exit status goes through: 5 (no tests ran) fails like any other.
test:
	$(PINNED) $(PYTHON) -m pytest $(TESTS)

# GLOG_minloglevel: Caffe's log lines would fill the notebooks' outputs.
notebooks:
	GLOG_minloglevel=2 .venv/bin/jupyter lab notebooks/
