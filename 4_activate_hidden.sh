#!/bin/bash
# Example 4: images that activate five hidden units (conv5 channels at the
# spatial position (6, 6)) of AlexNet trained on MIT Places205, each cropped
# to the unit's receptive field, labelled with the unit's number and tiled
# into output/example4.jpg.
#
# Environment overrides: N_ITERS, UNITS, ACT_LAYER, XY, CROP_SIZE,
# CROP_OFFSET, NET_DEFINITION, NET_WEIGHTS, GENERATOR_DEFINITION,
# GENERATOR_WEIGHTS, BOUND_FILE, OUTPUT_DIR, NETS_DIR, PYTHON.
# BATCH=5 optimises the five units in one pass (faster; equal to one at a time up
# to float rounding, docs/performance.md); the default 1 is the original's way.
# Downloads on first use, where missing (nets/download.sh NAME): placesCNN, upconv, act_range.
# shellcheck source=examples/numbered.sh disable=SC2034  # settings go by name: add_flags
. "$(dirname "$0")/examples/numbered.sh" "$@"
no_arguments "$@"

opt_layer=fc6
act_layer=${ACT_LAYER:-conv5}
units=${UNITS:-"8 55 154 181 45"}
xy=${XY:-6}  # spatial location (6, 6)

# Net
net_weights=${NET_WEIGHTS:-$nets/placesCNN/places205CNN_iter_300000.caffemodel}
net_definition=${NET_DEFINITION:-$nets/placesCNN/places205CNN_deploy_updated.prototxt}

# Hyperparam settings for visualizing AlexNet
n_iters=${N_ITERS:-200}
L2=0.99
lr=8.0
end_lr=1e-10
seed=0

# Clipping
clip=0
multiplier=3
bound_file=${BOUND_FILE:-$nets/data/act_range/${multiplier}x/${opt_layer}.txt}
init_file="None"

# Debug
debug=0

# Crop each image according to its receptive field size
size=${CROP_SIZE:-163}
offset=${CROP_OFFSET:-32}

# Output dir
output_dir=${OUTPUT_DIR:-output}
make_output_dir
output_file=$output_dir/example4.jpg

# One process: each image cropped, labelled with its unit; then the collage
add_flags "${actmax_settings[@]}" net_weights net_definition
run_example act_max --example 4 --units "$units" --crop "${size}x${size}+${offset}+${offset}" --labels unit \
    --collage "$output_file" --tile 5x1 -- "${flags[@]}" --start_lr "$lr" --bound "$bound_file" --batch "${BATCH:-1}"
