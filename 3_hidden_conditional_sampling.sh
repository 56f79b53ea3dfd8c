#!/bin/bash
#
# PPGN example 3: samples conditioned on a hidden unit, a conv5 channel of
# CaffeNet at the centre (xy=6), e.g. ./3_hidden_conditional_sampling.sh 196.
# Samples are kept every 10 steps above probability 0.98, cropped to the
# unit's receptive field, and 30 of them, picked at random, go in a montage.
# Settings as in Anh Nguyen's original; one Python process (see docs/ppgn.md).
# Environment overrides: N_ITERS, XY, THRESHOLD, EPSILON1, OUTPUT_DIR (default
# output), NET_DEFINITION / NET_WEIGHTS, PPGN_GENERATOR_*, ENCODER_*,
# NETS_DIR, PYTHON.
# Downloads on first use, where missing (nets/download.sh NAME): caffenet, ppgn_generator, mean, misc.
# (PPGN_EXAMPLE: the example number in the manifest; 4_*.sh sets it to 4.)
# shellcheck source=examples/numbered.sh disable=SC2034  # settings go by name: add_flags
. "$(dirname "$0")/examples/numbered.sh" "$@"

# Take in an unit number
one_argument UNIT "Provide 1 output unit number e.g. 945 for bell pepper." "$@"

opt_layer=fc6
act_layer=conv5
units="${1}"       # Index of neurons in fc layers or channels in conv layers
xy=${XY:-6}         # Spatial position for conv layers, for fc layers: xy = 0

n_iters=${N_ITERS:-1000}  # Run for N iterations
reset_every=100    # Reset the code every N iterations (for diversity)
save_every=10      # Save a sample every N iterations
lr=1
lr_end=1           # Linearly decay toward this ending lr (e.g. for decaying toward 0, set lr_end = 1e-10)
threshold=${THRESHOLD:-0.98}  # Filter out samples below this threshold e.g. 0.98

# -----------------------------------------------
# Multipliers in the update rule Eq.11 in the paper
# -----------------------------------------------
epsilon1=${EPSILON1:-1e-5}  # prior
epsilon2=1         # condition
epsilon3=1e-17     # noise
# -----------------------------------------------

seeds=$(echo {0..0})  # Run once per seed

init_file="None"   # Start from a random code

# Condition net
net_weights=${NET_WEIGHTS:-$nets/caffenet/bvlc_reference_caffenet.caffemodel}
net_definition=${NET_DEFINITION:-$nets/caffenet/caffenet_ppgn.prototxt}
#-----------------------

# Output dir
output_dir="${OUTPUT_DIR:-output}/${act_layer}_chain_${units}_eps1_${epsilon1}_eps3_${epsilon3}"
make_output_dir

# For each unit and seed: sample, crop the samples to the conv5 unit's
# receptive field (163x163+32+32 at 227x227), montage 30 of them at random
add_flags "${sampler_settings[@]}"
run_example sampling_class --example "${PPGN_EXAMPLE:-3}" --units "${units}" --seeds "${seeds}" \
    --chain "${output_dir}/chain_${units}_hx_${epsilon1}_noise_${epsilon3}__{seed}.jpg" \
    --crop_rf --shuffle --chain_size 30 -- "${flags[@]}"
