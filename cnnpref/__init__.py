"""cnnpref: images that the units of a Caffe CNN prefer (Kamitani lab's method).

Four variants of one optimisation, each a module with a `generate_image`:
`prefer_img_gd` (pixels, gradient descent with momentum), `prefer_img_lbfgs`
(pixels, L-BFGS-B), `prefer_img_dgn_gd` and `prefer_img_dgn_lbfgs` (the input
code of a deep generator network instead of the pixels).  `utils` holds the
image transforms, regularisers and masks they share with the examples.
See docs/cnnpref.md.
"""
import prefinput  # noqa: F401,E402  before numpy loads: the goldens' numbers on every CPU (prefinput/cpu.py)
