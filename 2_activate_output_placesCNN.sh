#!/bin/bash
# Example 2: images that activate five output units (scene categories) of
# AlexNet trained on MIT Places205, with the same generator (made to invert
# CaffeNet), labelled and tiled into output/example2.jpg.
#
# Environment overrides: N_ITERS, UNITS, ACT_LAYER, XY, NET_DEFINITION,
# NET_WEIGHTS, GENERATOR_DEFINITION, GENERATOR_WEIGHTS, PLACES_LABEL_FILE,
# BOUND_FILE, OUTPUT_DIR, NETS_DIR, PYTHON.
# BATCH=5 optimises the five units in one pass (faster; equal to one at a time up
# to float rounding, docs/performance.md); the default 1 is the original's way.
# Downloads on first use, where missing (nets/download.sh NAME): placesCNN, upconv, act_range, misc.
# shellcheck source=examples/numbered.sh disable=SC2034  # settings go by name: add_flags
. "$(dirname "$0")/examples/numbered.sh" "$@"
no_arguments "$@"

# Get label for each unit
path_labels=${PLACES_LABEL_FILE:-$nets/data/misc/categoryIndex_places205.txt}

opt_layer=fc6
act_layer=${ACT_LAYER:-fc8}
units=${UNITS:-"2 7 8 12 71"}
xy=${XY:-0}

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
init_file="None" #"images/cat.jpg"

# Debug
debug=0

# Output dir
output_dir=${OUTPUT_DIR:-output}
make_output_dir
output_file=$output_dir/example2.jpg

# One process: each image labelled with its scene category; then the collage
add_flags "${actmax_settings[@]}" net_weights net_definition
run_example act_max --example 2 --units "$units" --labels places --label_file "$path_labels" \
    --collage "$output_file" --tile 5x1 -- "${flags[@]}" --start_lr "$lr" --bound "$bound_file" --batch "${BATCH:-1}"
