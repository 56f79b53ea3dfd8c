#!/usr/bin/env python3
"""Put each example's collage beside the published image of the same name,
with the SSIM and the target unit's activation of every panel pair; exit 1
when a panel's SSIM is below the threshold.

    ./1_activate_output.sh && .venv/bin/python regression.py output/example1.jpg
"""
import os
os.environ.setdefault("GLOG_minloglevel", "2")  # suppress Caffe's verbose prints

from prefinput.cli import run
from prefinput.regression import main

if __name__ == "__main__":
    run(main)
