"""Preferred images of units in a higher layer (fc8) by
gradient descent with momentum on a deep generator network's code (cnnpref.prefer_img_dgn_gd).
Environment variables: see common.py; the loop and options: preferred_images.py."""
from preferred_images import main
from prefinput.cli import run

if __name__ == '__main__':
    run(main, 'dgn_gd', 'higher', __file__)
