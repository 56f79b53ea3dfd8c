#!/bin/bash
# Example 5: images that activate five output units of a different
# architecture, GoogLeNet (ImageNet), labelled and tiled into
# output/example5.jpg.  Note the learning rate: lower than AlexNet's.
#
# Environment overrides: N_ITERS, UNITS, ACT_LAYER, XY, NET_DEFINITION,
# NET_WEIGHTS, GENERATOR_DEFINITION, GENERATOR_WEIGHTS, SYNSET_FILE,
# BOUND_FILE, OUTPUT_DIR, NETS_DIR, PYTHON.
# BATCH=5 optimises the five units in one pass (faster; equal to one at a time up
# to float rounding, docs/performance.md); the default 1 is the original's way.
# Downloads on first use, where missing (nets/download.sh NAME): googlenet, upconv, act_range, misc.
# shellcheck source=examples/numbered.sh disable=SC2034  # settings go by name: add_flags
. "$(dirname "$0")/examples/numbered.sh" "$@"
no_arguments "$@"

# Get label for each unit
path_labels=${SYNSET_FILE:-$nets/data/misc/synset_words.txt}

opt_layer=fc6
act_layer=${ACT_LAYER:-loss3/classifier}
units=${UNITS:-"643 624 304 629 437"}
xy=${XY:-0}

# Net
net_weights=${NET_WEIGHTS:-$nets/googlenet/bvlc_googlenet.caffemodel}
net_definition=${NET_DEFINITION:-$nets/googlenet/bvlc_googlenet_updated.prototxt}

# Hyperparam settings for visualizing GoogLeNet
# Note that the learning rate is different from that for AlexNet
n_iters=${N_ITERS:-200}
L2=0.99
lr=2.0
end_lr=1e-10
seed=0

# Clipping
clip=0
multiplier=3
bound_file=${BOUND_FILE:-$nets/data/act_range/${multiplier}x/${opt_layer}.txt}
init_file="None"

# Debug
debug=0

# Output dir
output_dir=${OUTPUT_DIR:-output}
make_output_dir
output_file=$output_dir/example5.jpg

# One process: each image labelled with its class name; then the collage
add_flags "${actmax_settings[@]}" net_weights net_definition
run_example act_max --example 5 --units "$units" --labels synset --label_file "$path_labels" \
    --collage "$output_file" --tile 5x1 -- "${flags[@]}" --start_lr "$lr" --bound "$bound_file" --batch "${BATCH:-1}"
