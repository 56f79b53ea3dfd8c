#!/bin/bash
#
# PPGN example 2: one chain that visits several classes in turn, every sample
# labelled, as a montage and an animated GIF; e.g.
# ./2_class_conditional_sampling_many.sh 1e-5 (epsilon1, the prior's weight).
# Settings as in Anh Nguyen's original; one Python process (see docs/ppgn.md).
# Environment overrides: UNITS (the list of classes), N_ITERS,
# NET_DEFINITION / NET_WEIGHTS, PPGN_GENERATOR_*, ENCODER_*, SYNSET_FILE,
# NETS_DIR, PYTHON.
set -e
here=$(cd "$(dirname "$0")" && pwd)
nets=${NETS_DIR:-$here/nets}

# Take in epsilon1
if [ "$#" -ne "1" ]; then
  echo "Provide epsilon1 e.g. 1e-5"
  exit 1
fi

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
flags+=(--write_labels)

# For each seed: sample with labels, then a montage of all samples and a GIF
PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" exec "${PYTHON:-$here/.venv/bin/python}" -m prefinput.ppgn_examples class --example 2 \
    --units "${units}" --seeds "${seeds}" \
    --chain "${output_dir}/chain_${units}_hx_${epsilon1}_noise_${epsilon3}__{seed}.jpg" --gif -- "${flags[@]}"
