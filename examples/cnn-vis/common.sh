# Sourced by exampleN.sh: the paths the examples use, each overridable from
# the environment so the same command lines run on other nets (the tests
# run them on a tiny classifier):
#   NETS_DIR            models and data fetched by nets/download.sh (default: nets/)
#   DEPLOY_TXT, CAFFE_MODEL  GoogLeNet on ImageNet (cnn_vis.py's own defaults)
#   PLACES_DEPLOY_TXT, PLACES_CAFFE_MODEL  GoogLeNet on MIT Places205
#   MEAN_IMAGE          the mean image, .npy (cnn_vis.py's default)
#   INITIAL_IMGS        the folder of start images
#   NUM_STEPS           steps per size (default: the example's own)
#   OUTPUT_DIR          where exampleN.png goes (default: output/cnn-vis)
#   PYTHON              the interpreter (default: the repository's .venv)
# Arguments given to an example script go to cnn_vis.py after the example's
# flags, so they override them (e.g. --target_layer, --final_size).
# shellcheck shell=bash source=examples/numbered.sh
. "$(dirname "$0")/../numbered.sh"
# from it, as for the numbered scripts: --help (answer_help), here, nets, python, run_example (exec)
usage_arguments=("[CNN_VIS_FLAG...]" "cnn_vis.py flags, which override the example's")
# --help: after the usage line and the example's comment, these settings
usage_more() {
  sed -n '/^#/!q;/^# shellcheck /d;s/^# \{0,1\}//p' "$(dirname "$0")/common.sh"
  echo "Downloads on first use, where missing (nets/download.sh NAME): googlenet or googlenet_places, mean, images."
  echo "Unknown flags are cnn_vis.py's one-line errors; its flags: cnn_vis.py --help."
}
answer_help "$@"
NETS_DIR=$nets
PLACES_DEPLOY_TXT=${PLACES_DEPLOY_TXT:-$nets/googlenet_places/deploy_places205.protxt}
PLACES_CAFFE_MODEL=${PLACES_CAFFE_MODEL:-$nets/googlenet_places/googlelet_places205_train_iter_2400000.caffemodel}
INITIAL_IMGS=${INITIAL_IMGS:-$nets/data/cnn-vis/initial_imgs}
OUTPUT_DIR=${OUTPUT_DIR:-$here/output/cnn-vis}
export NETS_DIR
mkdir -p "$OUTPUT_DIR"

# The driver runs cnn_vis.py and writes the picture's manifest (regression.py).
cnn_vis() {
  run_example cnn_vis --manifests -- "$@"
}
