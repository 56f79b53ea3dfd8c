#!/bin/bash
# cnn-vis gallery, example 8: The Scream, amplifying the early inception_3a/3x3_reduce layer.
# Paths and NUM_STEPS come from the environment; see common.sh.
. "$(dirname "$0")/common.sh"

cnn_vis \
  --image_type=amplify_layer \
  --target_layer=inception_3a/3x3_reduce \
  --num_steps="${NUM_STEPS:-30}" \
  --batch_size=25 \
  --output_iter=10 \
  --learning_rate=1.0 \
  --decay_rate=0.9 \
  --alpha=2.0 \
  --p_reg=5e-1 \
  --beta=2.5 \
  --tv_reg=5e-2 \
  --initial_image="$INITIAL_IMGS/scream.jpg" \
  --initial_size=x0.08 \
  --final_size=x0.15 \
  --num_sizes=2 \
  --iter_behavior=print \
  --output_file="$OUTPUT_DIR/example8.png" \
  "$@"
