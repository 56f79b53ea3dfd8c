"""Preferred images of units in a lower layer (conv1; VGG-19: conv1_1) by
L-BFGS-B on the pixels (cnnpref.prefer_img_lbfgs).
Environment variables: see common.py; the loop and options: preferred_images.py."""
from preferred_images import main
from prefinput.cli import run

if __name__ == '__main__':
    run(main, 'lbfgs', 'lower', __file__)
