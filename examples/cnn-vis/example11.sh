#!/bin/bash
# cnn-vis gallery, example 11: The sky picture, amplifying inception_4d/pool; the auxiliary p-norm keeps the clouds from saturating.
# Paths and NUM_STEPS come from the environment; see common.sh.
. "$(dirname "$0")/common.sh"

cnn_vis \
  --image_type=amplify_layer \
  --target_layer=inception_4d/pool \
  --num_steps="${NUM_STEPS:-50}" \
  --batch_size=25 \
  --output_iter=10 \
  --learning_rate=1.0 \
  --decay_rate=0.85 \
  --alpha=2.0 \
  --p_reg=1e1 \
  --alpha_aux=8.0 \
  --p_reg_aux=5e-11 \
  --use_pixel_learning_rates \
  --beta=2.5 \
  --tv_reg=1e0 \
  --initial_image="$INITIAL_IMGS/sky.jpg" \
  --initial_size=x0.25 \
  --final_size=x1.0 \
  --num_sizes=5 \
  --iter_behavior=print \
  --output_file="$OUTPUT_DIR/example11.png" \
  "$@"
