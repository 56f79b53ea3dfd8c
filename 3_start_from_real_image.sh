#!/bin/bash
# Example 3: start from the code of a real image (a red bell pepper) instead
# of noise and raise the "bell pepper" unit of CaffeNet.  Debug mode saves
# every iteration with its activation (in output/debug); they are tiled into
# output/example3.jpg.
#
# Environment overrides: N_ITERS, UNITS, ACT_LAYER, XY, INIT_FILE,
# NET_DEFINITION, NET_WEIGHTS, GENERATOR_*, ENCODER_DEFINITION,
# ENCODER_WEIGHTS, MEAN_FILE_MAT, BOUND_FILE, OUTPUT_DIR, NETS_DIR, PYTHON.
set -e
here=$(cd "$(dirname "$0")" && pwd)
nets=${NETS_DIR:-$here/nets}
python=${PYTHON:-$here/.venv/bin/python}

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

output_dir=${OUTPUT_DIR:-output}
mkdir -p "$output_dir"
output_file=$output_dir/example3.jpg

"$python" "$here/act_max.py" \
    --act_layer "$act_layer" --opt_layer $opt_layer --unit $units --xy "$xy" \
    --n_iters "$n_iters" --start_lr $lr --end_lr $end_lr --L2 $L2 --seed $seed \
    --clip $clip --bound "$bound_file" --debug 1 --output_dir "$output_dir" \
    --init_file "$init_file" --collage "$output_file" --tile 10x20

echo "Intermediate results: $output_file"
