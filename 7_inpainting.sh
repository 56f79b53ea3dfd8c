#!/bin/bash
#
# PPGN example 7: inpainting.  A random 100x100 hole in a real image
# (images/volcano.jpg) is filled in with the given class, e.g.
# ./7_inpainting.sh 980 (volcano); each seed puts the hole elsewhere.  Each
# result shows the masked image beside the filled one; all go in one sheet.
# Settings as in Anh Nguyen's original (the paper's inpainting parameters);
# one Python process (see docs/ppgn.md).  Environment overrides: N_ITERS,
# SEEDS, INIT_FILE, OUTPUT_DIR (default output), NET_DEFINITION /
# NET_WEIGHTS, PPGN_GENERATOR_*, ENCODER_*, MEAN_FILE_MAT, NETS_DIR, PYTHON.
# Downloads on first use, where missing (nets/download.sh NAME): caffenet, ppgn_generator, mean, misc, images.
# shellcheck source=examples/numbered.sh disable=SC2034  # settings go by name: add_flags
. "$(dirname "$0")/examples/numbered.sh" "$@"

# Take in an unit number
one_argument UNIT "Provide 1 output unit number e.g. 945 for bell pepper." "$@"

opt_layer=fc6
act_layer=fc8
units="${1}"      # Index of neurons in fc layers or channels in conv layers
xy=0              # Spatial position for conv layers, for fc layers: xy = 0

# Note: these are the same params as used for "inpainting" experiments in the paper;
# however, careful tuning may yield better results

n_iters=${N_ITERS:-20}  # Run for N iterations
reset_every=0     # Reset the code every N iterations (for diversity)
save_every=0      # Save a sample every N iterations
lr=1
lr_end=1e-32      # Linearly decay toward this ending lr (e.g. for decaying toward 0, set lr_end = 1e-10)
threshold=0       # Filter out samples below this threshold e.g. 0.98

# -----------------------------------------------
# Multipliers in the update rule Eq.11 in the paper
# -----------------------------------------------
epsilon1=1e-5     # prior
epsilon2=1        # condition
epsilon3=0        # noise
epsilon4=1e-9     # context
# -----------------------------------------------

# For in-painting experiments, a different seed will result in a new random position for the masking patch
seeds=${SEEDS:-$(echo {0..9})}

init_file=${INIT_FILE:-$nets/data/images/volcano.jpg}  # The image to fill in

# Condition net
net_weights=${NET_WEIGHTS:-$nets/caffenet/bvlc_reference_caffenet.caffemodel}
net_definition=${NET_DEFINITION:-$nets/caffenet/caffenet_ppgn.prototxt}
#-----------------------

# Output dir
output_dir="${OUTPUT_DIR:-output}/${act_layer}_chain_${units}_eps1_${epsilon1}_eps3_${epsilon3}"
make_output_dir

# For each unit and seed: fill a hole; then all results, 5 a row
add_flags "${sampler_settings[@]}" epsilon4
run_example sampling_class --example 7 --units "${units}" --seeds "${seeds}" \
    --sheet "${output_dir}/inpainting.jpg" --sheet_columns 5 -- "${flags[@]}"
