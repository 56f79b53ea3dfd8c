# The usage lines that every example script's --help starts with: the
# numbered scripts' (examples/numbered.sh) and the cnn-vis examples'
# (examples/cnn-vis/common.sh sources numbered.sh).
#
#   print_usage COMMAND [ARGUMENT NOTE]...
#
# prints "Usage: COMMAND [-h|--help] ARGUMENT..." and one line per argument:
# an ARGUMENT in [brackets] is optional, any other is required.
print_usage() {
  _usage_line="Usage: $1 [-h|--help]"
  shift
  _usage_odd=1
  for _usage_word; do
    [ $_usage_odd = 1 ] && _usage_line="$_usage_line $_usage_word"
    _usage_odd=$((1 - _usage_odd))
  done
  printf '%s\n' "$_usage_line"
  while [ $# -ge 2 ]; do
    case $1 in
      \[*) printf '  %-18s optional: %s\n' "$1" "$2" ;;
      *) printf '  %-18s required: %s\n' "$1" "$2" ;;
    esac
    shift 2
  done
  printf '  %-18s optional: print this and do nothing else\n' "-h, --help"
}
