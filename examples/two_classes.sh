#!/bin/bash
# Two classes in one image (Evolving-AI-Lab/synthesizing issue 4): DGN-AM
# raising CaffeNet's volcano (980) and candle (470) together, with
# act_max.py --objective "fc8:980 + fc8:470", beside each class alone;
# labelled ("volcano", "candle", "volcano + candle") and tiled into
# output/two_classes.jpg; the two-class image alone is
# output/fc8_0980+fc8_0470_200_0.99_8.0__0.jpg.
#
# Environment overrides: OBJECTIVE (another sum of units, e.g.
# "fc8:980 - 0.5*fc8:437"), ALONE (the objectives shown beside it, default
# "fc8:980 fc8:470"; empty: none), N_ITERS, NET_DEFINITION, NET_WEIGHTS,
# GENERATOR_DEFINITION, GENERATOR_WEIGHTS, SYNSET_FILE, BOUND_FILE,
# OUTPUT_DIR, NETS_DIR, PYTHON; BATCH=3 optimises the three images in one pass.
# Downloads on first use, where missing (nets/download.sh NAME): caffenet, upconv, act_range, misc.
# shellcheck source=examples/numbered.sh disable=SC2034  # settings go by name: add_flags
. "$(dirname "$0")/numbered.sh" "$@"
no_arguments "$@"

path_labels=${SYNSET_FILE:-$nets/data/misc/synset_words.txt}
objective=${OBJECTIVE:-"fc8:980 + fc8:470"}
read -r -a alone <<< "${ALONE-fc8:980 fc8:470}"

# Example 1's settings (CaffeNet, the fc6 generator)
opt_layer=fc6
act_layer=fc8
xy=0
n_iters=${N_ITERS:-200}
L2=0.99
lr=8.0
end_lr=1e-10
seed=0
clip=0
bound_file=${BOUND_FILE:-$nets/data/act_range/3x/${opt_layer}.txt}
init_file="None"
debug=0

output_dir=${OUTPUT_DIR:-output}
make_output_dir
output_file=$output_dir/two_classes.jpg

add_flags "${actmax_settings[@]}"
run_example act_max --labels synset --label_file "$path_labels" --collage "$output_file" \
    --tile "$(( ${#alone[@]} + 1 ))x1" -- "${flags[@]}" --start_lr "$lr" --bound "$bound_file" \
    --batch "${BATCH:-1}" --objective "${alone[@]}" "$objective"

