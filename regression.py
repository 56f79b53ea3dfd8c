#!/usr/bin/env python3
"""Put an example's picture beside the published picture it remakes (DGN-AM
collages, PPGN chains and sample sheets), with the SSIM and the target unit's
activation of every panel pair; exit 1 when a panel's SSIM is below the
threshold.

    ./1_activate_output.sh && .venv/bin/python regression.py output/example1.jpg
    ./1_class_conditional_sampling.sh 13 && .venv/bin/python regression.py \\
        output/fc8_chain_13_eps1_1e-5_eps3_1e-17/chain_13_hx_1e-5_noise_1e-17__0.jpg
"""
import os
os.environ.setdefault("GLOG_minloglevel", "2")  # suppress Caffe's verbose prints

from harness.scoring import main
from prefinput.cli import run

if __name__ == "__main__":
    run(main)
