#!/bin/bash
#
# PPGN example 5: images conditioned on a caption through the LRCN captioner,
# three seeds in one sheet with the sentence below it; e.g.
# ./5_caption_conditional_sampling.sh a_church_steeple_that_has_a_clock_on_it
# (misc/sentences.txt has more).  Settings as in Anh Nguyen's original; one
# Python process (see docs/ppgn.md).  Environment overrides: N_ITERS,
# OUTPUT_DIR (default output), NET_DEFINITION / NET_WEIGHTS (the feature
# extractor; the weights hold the LSTM too), CAPTIONER_DEFINITION,
# VOCAB_FILE, PPGN_GENERATOR_*, ENCODER_*, NETS_DIR, PYTHON.
# Downloads on first use, where missing (nets/download.sh NAME): caffenet, lrcn, ppgn_generator, mean, misc.
# shellcheck source=examples/numbered.sh disable=SC2034  # settings go by name: add_flags
. "$(dirname "$0")/examples/numbered.sh" "$@"

# Take in a sentence
one_argument SENTENCE "Provide a sentence e.g. a_pizza_on_a_table_at_a_restaurant" "$@"

opt_layer=fc6     # This is fixed to be fc6 unless we change the generator
act_layer=fc8     # fc8 because the LRCN extract fc8 features from AlexNet
sentence="${1}"   # A sentence with underscores between words e.g. a_pizza_on_a_table_at_a_restaurant
xy=0              # Spatial position for conv layers, for fc layers: xy = 0

n_iters=${N_ITERS:-200}  # Run for N iterations
reset_every=0     # Reset the code every N iterations (for diversity). 0 to disable resetting.
save_every=0      # Save a sample every N iterations. 0 to disable saving intermediate samples.
lr=1              # Initial learning rate
lr_end=1e-10      # Linearly decay toward this ending lr (e.g. for decaying toward 0, set lr_end = 1e-10)
threshold=0       # Filter out samples below this threshold e.g. 0.98

# -----------------------------------------------
# Multipliers in the update rule Eq.11 in the paper
# -----------------------------------------------
epsilon1=1e-3     # prior
epsilon2=1        # condition
epsilon3=1e-17    # noise
# -----------------------------------------------

seeds=$(echo {0..2})  # Run a few times

init_file="None"  # Start from a random code

# Condition net
net_weights=${NET_WEIGHTS:-$nets/lrcn/lrcn_caffenet_iter_110000.caffemodel}
net_definition=${NET_DEFINITION:-$nets/caffenet/caffenet_ppgn.prototxt}
captioner_definition=${CAPTIONER_DEFINITION:-$nets/lrcn/lrcn_word_to_preds.deploy.prototxt}
#-----------------------

# Output dir
output_dir="${OUTPUT_DIR:-output}/${act_layer}_eps1_${epsilon1}_eps3_${epsilon3}/${sentence}"
make_output_dir

# For each seed: sample; then the final images, 3 a row, with the sentence below
add_flags "${sampler_settings[@]}" sentence captioner_definition
run_example sampling_caption --example 5 --seeds "${seeds}" \
    --sheet "${output_dir}/${sentence}.jpg" --sheet_columns 3 --sheet_label "${sentence//_/ }" -- "${flags[@]}"
