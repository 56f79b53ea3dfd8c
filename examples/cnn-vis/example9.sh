#!/bin/bash
# cnn-vis gallery, example 9: The Scream, amplifying the later inception_4d/output layer (animal parts appear).
# Paths and NUM_STEPS come from the environment; see common.sh.
. "$(dirname "$0")/common.sh"

cnn_vis \
  --image_type=amplify_layer \
  --target_layer=inception_4d/output \
  --num_steps="${NUM_STEPS:-50}" \
  --batch_size=25 \
  --output_iter=25 \
  --learning_rate=1.0 \
  --decay_rate=0.9 \
  --alpha=2.0 \
  --p_reg=5e-1 \
  --beta=2.5 \
  --tv_reg=5e-2 \
  --initial_image="$INITIAL_IMGS/scream.jpg" \
  --initial_size=x0.12 \
  --final_size=x0.25 \
  --num_sizes=3 \
  --iter_behavior=print \
  --output_file="$OUTPUT_DIR/example9.png" \
  "$@"
