#!/bin/bash
#
# PPGN example 1: a chain of samples conditioned on one class of CaffeNet,
# e.g. ./1_class_conditional_sampling.sh 13 (junco).
# Settings as in Anh Nguyen's original; one Python process runs the chain and
# makes the montage (see docs/ppgn.md).  Environment overrides: N_ITERS,
# OUTPUT_DIR (default output), NET_DEFINITION / NET_WEIGHTS (the condition
# net), PPGN_GENERATOR_DEFINITION / PPGN_GENERATOR_WEIGHTS,
# ENCODER_DEFINITION / ENCODER_WEIGHTS, NETS_DIR, PYTHON.
# Downloads on first use, where missing (nets/download.sh NAME): caffenet, ppgn_generator, mean, misc.
# shellcheck source=examples/numbered.sh disable=SC2034  # settings go by name: add_flags
. "$(dirname "$0")/examples/numbered.sh" "$@"

# Take in an unit number
one_argument UNIT "Provide 1 output unit number e.g. 945 for bell pepper." "$@"

opt_layer=fc6
act_layer=fc8
units="${1}"      # Index of neurons in fc layers or channels in conv layers
xy=0              # Spatial position for conv layers, for fc layers: xy = 0

n_iters=${N_ITERS:-200}  # Run for N iterations
reset_every=0     # Reset the code every N iterations (for diversity)
save_every=5      # Save a sample every N iterations
lr=1
lr_end=1          # Linearly decay toward this ending lr (e.g. for decaying toward 0, set lr_end = 1e-10)
threshold=0       # Filter out samples below this threshold e.g. 0.98

# -----------------------------------------------
# Multipliers in the update rule Eq.11 in the paper
# -----------------------------------------------
epsilon1=1e-5     # prior
epsilon2=1        # condition
epsilon3=1e-17    # noise
# -----------------------------------------------

seeds=$(echo {0..0})  # Run once per seed

init_file="None"  # Start from a random code. To start from a real code, replace with a path e.g. "images/filename.jpg"

# Condition net
net_weights=${NET_WEIGHTS:-$nets/caffenet/bvlc_reference_caffenet.caffemodel}
net_definition=${NET_DEFINITION:-$nets/caffenet/caffenet_ppgn.prototxt}
#-----------------------

# Output dir
output_dir="${OUTPUT_DIR:-output}/${act_layer}_chain_${units}_eps1_${epsilon1}_eps3_${epsilon3}"
make_output_dir

# For each unit and seed 0: sample, then a montage of the first 40 samples, 10 a row
add_flags "${sampler_settings[@]}"
run_example sampling_class --example 1 --units "${units}" --seeds "${seeds}" \
    --chain "${output_dir}/chain_${units}_hx_${epsilon1}_noise_${epsilon3}__{seed}.jpg" --chain_size 40 -- "${flags[@]}"
