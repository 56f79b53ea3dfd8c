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
set -e
# shellcheck source=examples/usage.sh
. "$(dirname "$0")/../usage.sh"
for _arg in "$@"; do
  case $_arg in
    -h|--help)  # the usage, the example's own comment, these settings; nothing is run
      print_usage "${0##*/}" "[CNN_VIS_FLAG...]" "cnn_vis.py flags, which override the example's"
      echo
      sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"
      sed -n '/^#/!q;s/^# \{0,1\}//p' "$(dirname "$0")/common.sh"
      echo "Downloads on first use, where missing (nets/download.sh NAME): googlenet or googlenet_places, mean, images."
      echo "Unknown flags are cnn_vis.py's one-line errors; its flags: cnn_vis.py --help."
      exit 0 ;;
  esac
done
unset _arg
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NETS_DIR=${NETS_DIR:-$ROOT/nets}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
PLACES_DEPLOY_TXT=${PLACES_DEPLOY_TXT:-$NETS_DIR/googlenet_places/deploy_places205.protxt}
PLACES_CAFFE_MODEL=${PLACES_CAFFE_MODEL:-$NETS_DIR/googlenet_places/googlelet_places205_train_iter_2400000.caffemodel}
INITIAL_IMGS=${INITIAL_IMGS:-$NETS_DIR/data/cnn-vis/initial_imgs}
OUTPUT_DIR=${OUTPUT_DIR:-$ROOT/output/cnn-vis}
export NETS_DIR
mkdir -p "$OUTPUT_DIR"

# exec, the example's last command: a signal sent to its PID (kill, a
# supervisor, docker stop) reaches Python, which keeps what it finished.
# The driver runs cnn_vis.py and writes the picture's manifest (regression.py).
cnn_vis() {
  exec "$PYTHON" "$ROOT/examples/driver.py" cnn_vis --manifests -- "$@"
}
