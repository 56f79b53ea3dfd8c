#!/bin/bash
#
# PPGN example 6: a chain of samples of one class that starts from the code
# of a real image (images/volcano.jpg), e.g.
# ./6_class_conditional_sampling_from_real_image.sh 980 (volcano).
# Settings as in Anh Nguyen's original; one Python process (see docs/ppgn.md).
# Environment overrides: N_ITERS, INIT_FILE, OUTPUT_DIR (default output),
# NET_DEFINITION / NET_WEIGHTS, PPGN_GENERATOR_*, ENCODER_*, MEAN_FILE_MAT,
# NETS_DIR, PYTHON.
# Downloads on first use, where missing (nets/download.sh NAME): caffenet, ppgn_generator, mean, misc, images.
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
lr=0.5
lr_end=0.5        # Linearly decay toward this ending lr (e.g. for decaying toward 0, set lr_end = 1e-10)
threshold=0       # Filter out samples below this threshold e.g. 0.98

# -----------------------------------------------
# Multipliers in the update rule Eq.11 in the paper
# -----------------------------------------------
epsilon1=1e-5     # prior
epsilon2=1        # condition
epsilon3=1e-17    # noise
# -----------------------------------------------

seeds=$(echo {0..0})  # Run once per seed

init_file=${INIT_FILE:-$nets/data/images/volcano.jpg}  # Start from the code of this image

# Condition net
net_weights=${NET_WEIGHTS:-$nets/caffenet/bvlc_reference_caffenet.caffemodel}
net_definition=${NET_DEFINITION:-$nets/caffenet/caffenet_ppgn.prototxt}
#-----------------------

# Output dir
output_dir="${OUTPUT_DIR:-output}/${act_layer}_chain_${units}_eps1_${epsilon1}_eps3_${epsilon3}"
make_output_dir

# For each unit and seed: sample, then a montage of the first 30 samples, 10 a row
add_flags "${sampler_settings[@]}"
run_example sampling_class --example 6 --units "${units}" --seeds "${seeds}" \
    --chain "${output_dir}/chain_${units}_hx_${epsilon1}_noise_${epsilon3}__{seed}.jpg" --chain_size 30 -- "${flags[@]}"
