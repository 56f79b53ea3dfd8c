#!/bin/bash
#
# PPGN example 1: a chain of samples conditioned on one class of CaffeNet,
# e.g. ./1_class_conditional_sampling.sh 13 (junco).
# Settings as in Anh Nguyen's original; one Python process runs the chain and
# makes the montage (see docs/ppgn.md).  Environment overrides: N_ITERS,
# NET_DEFINITION / NET_WEIGHTS (the condition net), PPGN_GENERATOR_DEFINITION /
# PPGN_GENERATOR_WEIGHTS, ENCODER_DEFINITION / ENCODER_WEIGHTS, NETS_DIR, PYTHON.
set -e
here=$(cd "$(dirname "$0")" && pwd)
nets=${NETS_DIR:-$here/nets}

# Take in an unit number
if [ "$#" -ne "1" ]; then
  echo "Provide 1 output unit number e.g. 945 for bell pepper."
  exit 1
fi

opt_layer=fc6
act_layer=fc8
units="${1}"      # Index of neurons in fc layers or channels in conv layers
xy=0              # Spatial position for conv layers, for fc layers: xy = 0

n_iters=${N_ITERS:-200}  # Run for N iterations
reset_every=0     # Reset the code every N iterations (for diversity)
save_every=5      # Save a sample every N iterations
lr=1
lr_end=1          # Linearly decay toward this ending lr (e.g. for decaying toward 0, set lr_end = 1e-10)
threshold=0       # Filter out samples below this threshold e.g. 0.98

# -----------------------------------------------
# Multipliers in the update rule Eq.11 in the paper
# -----------------------------------------------
epsilon1=1e-5     # prior
epsilon2=1        # condition
epsilon3=1e-17    # noise
# -----------------------------------------------

seeds=$(echo {0..0})  # Run once per seed

init_file="None"  # Start from a random code. To start from a real code, replace with a path e.g. "images/filename.jpg"

# Condition net
net_weights=${NET_WEIGHTS:-$nets/caffenet/bvlc_reference_caffenet.caffemodel}
net_definition=${NET_DEFINITION:-$nets/caffenet/caffenet_ppgn.prototxt}
#-----------------------

# Output dir
output_dir="output/${act_layer}_chain_${units}_eps1_${epsilon1}_eps3_${epsilon3}"
mkdir -p "${output_dir}"

# Directory to store samples
sample_dir=${output_dir}/samples
rm -rf "${sample_dir}"
mkdir -p "${sample_dir}"

# Every setting above goes to the sampler as --name value
flags=()
for name in act_layer opt_layer xy n_iters save_every reset_every lr lr_end output_dir init_file \
            epsilon1 epsilon2 epsilon3 threshold net_weights net_definition; do
  flags+=(--${name} "${!name}")
done

# For each unit and seed 0: sample, then a montage of the first 40 samples, 10 a row
PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" exec "${PYTHON:-$here/.venv/bin/python}" -m prefinput.ppgn_examples class --example 1 \
    --units "${units}" --seeds "${seeds}" \
    --chain "${output_dir}/chain_${units}_hx_${epsilon1}_noise_${epsilon3}__{seed}.jpg" --chain_size 40 -- "${flags[@]}"
