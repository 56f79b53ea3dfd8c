#!/bin/bash
# Example 3: start from the code of a real image (a red bell pepper) instead
# of noise and raise the "bell pepper" unit of CaffeNet.  Debug mode saves
# every iteration with its activation (in output/debug); they are tiled into
# output/example3.jpg.
#
# Environment overrides: N_ITERS, UNITS, ACT_LAYER, XY, INIT_FILE,
# NET_DEFINITION, NET_WEIGHTS, GENERATOR_*, ENCODER_DEFINITION,
# ENCODER_WEIGHTS, MEAN_FILE_MAT, BOUND_FILE, OUTPUT_DIR, NETS_DIR, PYTHON.
# Downloads on first use, where missing (nets/download.sh NAME): caffenet, upconv, act_range, mean, images.
# shellcheck source=examples/numbered.sh disable=SC2034  # settings go by name: add_flags
. "$(dirname "$0")/examples/numbered.sh" "$@"
no_arguments "$@"

opt_layer=fc6
act_layer=${ACT_LAYER:-fc8}
units=${UNITS:-945}
xy=${XY:-0}

# Hyperparam settings for visualizing AlexNet
n_iters=${N_ITERS:-30}
L2=0.99
lr=1.0
end_lr=1e-10
seed=0

# Clipping
clip=0
multiplier=3
bound_file=${BOUND_FILE:-$nets/data/act_range/${multiplier}x/${opt_layer}.txt}
init_file=${INIT_FILE:-$nets/data/images/red_pepper.jpg}

# Debug
debug=1

# Output dir
output_dir=${OUTPUT_DIR:-output}
make_output_dir
output_file=$output_dir/example3.jpg

# One process; then the iterations it saved (debug=1) in one collage
add_flags "${actmax_settings[@]}"
run_example act_max --example 3 --units "$units" --collage "$output_file" --tile 10x20 --frames -- \
    "${flags[@]}" --start_lr "$lr" --bound "$bound_file"
