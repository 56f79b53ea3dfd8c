#!/bin/bash
# cnn-vis gallery, example 5: GoogLeNet trained on MIT Places205: noise start, amplifying inception_4b/3x3_reduce.
# Paths and NUM_STEPS come from the environment; see common.sh.
. "$(dirname "$0")/common.sh"

cnn_vis \
  --deploy_txt="$PLACES_DEPLOY_TXT" \
  --caffe_model="$PLACES_CAFFE_MODEL" \
  --image_type=amplify_layer \
  --target_layer=inception_4b/3x3_reduce \
  --num_steps="${NUM_STEPS:-200}" \
  --batch_size=10 \
  --output_iter=25 \
  --learning_rate=5.0 \
  --decay_rate=0.95 \
  --alpha=4.0 \
  --p_reg=1e-9 \
  --beta=2.0 \
  --tv_reg=3e-1 \
  --initial_size=270x480 \
  --final_size=1080x1920 \
  --num_sizes=5 \
  --iter_behavior=print \
  --output_file="$OUTPUT_DIR/example5.png" \
  "$@"
