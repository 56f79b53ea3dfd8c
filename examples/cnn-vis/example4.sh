#!/bin/bash
# cnn-vis gallery, example 4: Noise start, inception_4d/3x3_reduce with weaker TV regularisation and 200 steps per size.
# Paths and NUM_STEPS come from the environment; see common.sh.
. "$(dirname "$0")/common.sh"

cnn_vis \
  --image_type=amplify_layer \
  --target_layer=inception_4d/3x3_reduce \
  --num_steps="${NUM_STEPS:-200}" \
  --batch_size=10 \
  --output_iter=25 \
  --learning_rate=10 \
  --decay_rate=0.25 \
  --alpha=6.0 \
  --p_reg=1e-11 \
  --beta=2.5 \
  --tv_reg=1e-2 \
  --initial_size=270x480 \
  --final_size=1080x1920 \
  --num_sizes=5 \
  --iter_behavior=print \
  --output_file="$OUTPUT_DIR/example4.png" \
  "$@"
