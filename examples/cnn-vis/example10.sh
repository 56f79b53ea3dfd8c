#!/bin/bash
# cnn-vis gallery, example 10: The lake picture, amplifying inception_4d/pool.
# Paths and NUM_STEPS come from the environment; see common.sh.
. "$(dirname "$0")/common.sh"

cnn_vis \
  --image_type=amplify_layer \
  --target_layer=inception_4d/pool \
  --num_steps="${NUM_STEPS:-50}" \
  --batch_size=25 \
  --output_iter=10 \
  --learning_rate=1.0 \
  --decay_rate=0.9 \
  --alpha=2.0 \
  --p_reg=5e0 \
  --beta=2.5 \
  --tv_reg=1e-1 \
  --initial_image="$INITIAL_IMGS/lake.jpg" \
  --initial_size=x0.2 \
  --final_size=x0.75 \
  --num_sizes=4 \
  --iter_behavior=print \
  --output_file="$OUTPUT_DIR/example10.png" \
  "$@"
