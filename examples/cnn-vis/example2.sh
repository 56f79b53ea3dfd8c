#!/bin/bash
# cnn-vis gallery, example 2: Noise start, amplifying inception_4c/output (the gallery's "Noise Initializations").
# Paths and NUM_STEPS come from the environment; see common.sh.
. "$(dirname "$0")/common.sh"

cnn_vis \
  --image_type=amplify_layer \
  --target_layer=inception_4c/output \
  --num_steps="${NUM_STEPS:-100}" \
  --batch_size=25 \
  --output_iter=25 \
  --learning_rate=10 \
  --decay_rate=0.25 \
  --alpha=6.0 \
  --p_reg=1e-10 \
  --beta=2.5 \
  --tv_reg=5e-1 \
  --initial_size=270x480 \
  --final_size=1080x1920 \
  --num_sizes=5 \
  --iter_behavior=print \
  --output_file="$OUTPUT_DIR/example2.png" \
  "$@"
