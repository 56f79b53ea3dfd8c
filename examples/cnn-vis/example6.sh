#!/bin/bash
# cnn-vis gallery, example 6: Places205 GoogLeNet from stronger, blurred noise, amplifying inception_4c/pool.
# Paths and NUM_STEPS come from the environment; see common.sh.
. "$(dirname "$0")/common.sh"

cnn_vis \
  --deploy_txt="$PLACES_DEPLOY_TXT" \
  --caffe_model="$PLACES_CAFFE_MODEL" \
  --initialization_scale=10.0 \
  --initialization_blur=1.0 \
  --image_type=amplify_layer \
  --target_layer=inception_4c/pool \
  --num_steps="${NUM_STEPS:-150}" \
  --batch_size=20 \
  --output_iter=50 \
  --learning_rate=2.0 \
  --decay_rate=0.9 \
  --alpha=4.0 \
  --p_reg=1e-9 \
  --beta=2.5 \
  --tv_reg=1.0 \
  --initial_size=270x480 \
  --final_size=1080x1920 \
  --num_sizes=5 \
  --iter_behavior=print \
  --output_file="$OUTPUT_DIR/example6.png" \
  "$@"
