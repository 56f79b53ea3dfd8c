# What the example scripts share: the twelve numbered ones at the top of the
# repository (DGN-AM's 1_activate_output.sh .. 5_activate_output_GoogLeNet.sh,
# PPGN's 1_class_conditional_sampling.sh .. 7_inpainting.sh), two_classes.sh,
# and cnn-vis's examples through examples/cnn-vis/common.sh.  Each keeps its
# own settings block (as the original wrote it) and sources this file first:
#
#   . "$(dirname "$0")/examples/numbered.sh" "$@"
#
# which sets -e; sets here (the repository), nets (${NETS_DIR:-$here/nets})
# and python (${PYTHON:-$here/.venv/bin/python}).  Then, as the script needs
# them:
#
#   no_arguments "$@"          DGN-AM: any argument is an error (exit 2)
#   one_argument KIND MESSAGE "$@"
#                              PPGN: exactly one, a KIND (UNIT, EPSILON1,
#                              SENTENCE), else MESSAGE (exit 2); checked
#                              before it names any folder
#   make_output_dir            mkdir -p "$output_dir" (PPGN's samples/ is
#                              replaced by the sampler when a run succeeds)
#   add_flags NAME...          flags+=(--NAME "$NAME") for each NAME; the
#                              settings every script of a kind passes are
#                              listed in actmax_settings / sampler_settings
#   run_example PROGRAM [driver options] -- [PROGRAM's flags]
#                              the one way to run Python: examples/driver.py,
#                              exec'd, so the script's last command
#
# Given --help or -h, no_arguments and one_argument print the usage line
# (examples/usage.sh), then the script's leading comment block, and exit 0,
# doing nothing else.
# shellcheck shell=bash disable=SC2034  # here, nets, the lists: for the scripts

set -e
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
nets=${NETS_DIR:-$here/nets}
python=${PYTHON:-$here/.venv/bin/python}
flags=()

# The comment block under the script's #! line, without its leading '# '.
usage() {
  local line started=
  {
    read -r line  # #!/bin/bash
    while IFS= read -r line && [[ $line == '#'* ]]; do
      [[ $line == '# shellcheck '* ]] && continue
      line=${line#\#}
      line=${line# }
      [[ -n $started || -n $line ]] || continue  # skip a blank first line
      started=1
      printf '%s\n' "$line"
    done
  } < "$0"
}

# shellcheck source=examples/usage.sh
. "$here/examples/usage.sh"

# --help or -h anywhere among the script's arguments ("$@"): the usage line
# with the script's ARGUMENT NOTE pairs (usage_arguments), the comment block.
usage_arguments=()
answer_help() {
  local arg
  for arg; do
    case $arg in
      -h|--help)
        print_usage "./$(realpath --relative-to="$here" "$0")" "${usage_arguments[@]}"; echo; usage
        if declare -F usage_more > /dev/null; then usage_more; fi  # the script's helper's own settings
        exit 0 ;;
    esac
  done
}

no_arguments() {
  answer_help "$@"
  if [ "$#" -ne 0 ]; then
    echo "${0##*/}: takes no arguments, got: ${*@Q} (settings come from environment variables; see --help)" >&2
    exit 2
  fi
}

# one_argument's kinds: what a value must be, and the pattern that says so.
# The value goes into the output folder's name: `../../x` must not get there.
declare -A argument_kind=(
  [UNIT]="a whole number, a unit's index (a class or a conv channel)"
  [EPSILON1]="a number, the prior's weight epsilon1"
  [SENTENCE]="words joined by underscores, the caption"
)
declare -A argument_pattern=(
  [UNIT]='^[0-9]+$'
  [EPSILON1]='^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$'
  [SENTENCE]="^[[:alnum:]'-]+(_[[:alnum:]'-]+)*$"
)

one_argument() {
  local kind=$1 message=$2
  shift 2
  usage_arguments=("$kind" "${argument_kind[$kind]}")
  answer_help "$@"
  if [[ $# -eq 1 && $1 == -* ]]; then
    echo "${0##*/}: unknown option ${1@Q}; $message (see --help)" >&2
    exit 2
  fi
  if [ "$#" -ne 1 ]; then
    echo "$message" >&2
    exit 2
  fi
  if ! [[ $1 =~ ${argument_pattern[$kind]} ]]; then
    echo "${0##*/}: $kind ${1@Q}: expected ${argument_kind[$kind]}; $message (see --help)" >&2
    exit 2
  fi
}

make_output_dir() {
  # shellcheck disable=SC2154  # output_dir: the script's setting
  mkdir -p "$output_dir"
  # The originals emptied samples/ here; the sampler now replaces it only
  # once its new chain is made (see docs/ppgn.md), so nothing is deleted.
}

# The settings block's variables that every DGN-AM script gives act_max.py
# under their own names (lr and bound_file go as --start_lr and --bound), and
# those every PPGN script gives sampling_class.py / sampling_caption.py.
actmax_settings=(act_layer opt_layer xy n_iters L2 end_lr seed clip init_file debug output_dir)
sampler_settings=(act_layer opt_layer xy n_iters save_every reset_every lr lr_end output_dir init_file
                  epsilon1 epsilon2 epsilon3 threshold net_weights net_definition)

add_flags() {
  local name
  for name; do
    flags+=("--$name" "${!name}")
  done
}

# exec: a signal sent to the script's PID (kill, a supervisor, docker stop
# where the script is PID 1) reaches Python, which keeps what it finished.
run_example() {
  exec "$python" "$here/examples/driver.py" "$@"
}
