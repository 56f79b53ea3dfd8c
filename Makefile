# make setup   as root on Debian bookworm: system packages, Caffe (cached), .venv
# make test    the test suite, in the pinned environment the goldens need
# make caffe-tests   Caffe's own gtest suite against our build (also run by make test)

PYTHON := .venv/bin/python
# The goldens are bit-exact only with these (see ../shared/fixtures/golden/README.md).
PINNED := OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS=1

.PHONY: setup test caffe cuda venv
setup:
	bash docker/install_deps.sh
	bash docker/build_caffe.sh
	bash docker/make_venv.sh

caffe:
	bash docker/build_caffe.sh

cuda:
	bash docker/build_caffe.sh --cuda

venv:
	bash docker/make_venv.sh

# pytest's own exit status goes through: 5 (no tests ran) fails like any other.
test:
	$(PINNED) $(PYTHON) -m pytest
