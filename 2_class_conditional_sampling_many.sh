#!/bin/bash
#
# PPGN example 2: one chain that visits several classes in turn, every sample
# labelled, as a montage and an animated GIF; e.g.
# ./2_class_conditional_sampling_many.sh 1e-5 (epsilon1, the prior's weight).
# Settings as in Anh Nguyen's original; one Python process (see docs/ppgn.md).
# Environment overrides: UNITS (the list of classes), N_ITERS, OUTPUT_DIR
# (default output), NET_DEFINITION / NET_WEIGHTS, PPGN_GENERATOR_*,
# ENCODER_*, SYNSET_FILE, NETS_DIR, PYTHON.
# Downloads on first use, where missing (nets/download.sh NAME): caffenet, ppgn_generator, mean, misc.
# shellcheck source=examples/numbered.sh disable=SC2034  # settings go by name: add_flags
. "$(dirname "$0")/examples/numbered.sh" "$@"

# Take in epsilon1
one_argument EPSILON1 "Provide epsilon1 e.g. 1e-5" "$@"

opt_layer=fc6
act_layer=fc8
list_units=${UNITS:-"946 629"}

xy=0              # Spatial position for conv layers, for fc layers: xy = 0
n_iters=${N_ITERS:-100}  # For each unit, for N iterations
reset_every=0     # For diversity, reset the code to random every N iterations. 0 to disable resetting.
save_every=1      # Save a sample every N iterations
lr=1
lr_end=1          # Linearly decay toward this ending lr (e.g. for decaying toward 0, set lr_end = 1e-10)
threshold=0       # Filter out samples below this threshold e.g. 0.98

# -----------------------------------------------
# Multipliers in the update rule Eq.11 in the paper
# -----------------------------------------------
epsilon1=${1}     # prior
epsilon2=1        # condition
epsilon3=1e-17    # noise
# -----------------------------------------------

seeds=$(echo {0..0})  # Run once per seed

init_file="None"  # Start from a random code

# Condition net
net_weights=${NET_WEIGHTS:-$nets/caffenet/bvlc_reference_caffenet.caffemodel}
net_definition=${NET_DEFINITION:-$nets/caffenet/caffenet_ppgn.prototxt}
#-----------------------

# Make a list of units: "946 629" -> 946_629, one condition after another
units=${list_units// /_}

# Output dir
output_dir="${OUTPUT_DIR:-output}/${act_layer}_chain_${units}_eps1_${epsilon1}_eps3_${epsilon3}"
make_output_dir

# For each seed: sample with labels, then a montage of all samples and a GIF
add_flags "${sampler_settings[@]}"
run_example sampling_class --example 2 --units "${units}" --seeds "${seeds}" \
    --chain "${output_dir}/chain_${units}_hx_${epsilon1}_noise_${epsilon3}__{seed}.jpg" --gif -- "${flags[@]}" --write_labels
