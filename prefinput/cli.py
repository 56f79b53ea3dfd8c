"""Command-line plumbing: one-line errors for user mistakes, signals, and
flags for the settings that environment variables can override."""
import argparse
import math
import os
import signal
import sys
import textwrap

from prefinput.environment import setting
from prefinput.errors import NotFinite, Terminated, UserError
from prefinput.registry import catalogue


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, but a mistake on the command line is one line too:
    `prog: error: <what> (see --help)`, exit 2, without the usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class FiniteFloat(argparse.Action):
    """A float flag (`action=FiniteFloat`) refused, naming the flag, unless finite."""

    def __init__(self, option_strings, dest, type=float, **kwargs):
        super().__init__(option_strings, dest, type=type, **kwargs)

    def __call__(self, parser, namespace, value, option_string=None):
        if value is not None and not math.isfinite(value):  # None: a nargs='?' flag given bare
            raise NotFinite(option_string, value)
        setattr(namespace, self.dest, value)


SEED_LIMIT = 2**32  # numpy.random.seed takes 0 .. 2**32 - 1


class Seed(argparse.Action):
    """A seed flag (`action=Seed`): a whole number numpy.random.seed takes,
    refused, naming the flag, before any work otherwise."""

    def __init__(self, option_strings, dest, type=int, **kwargs):
        super().__init__(option_strings, dest, type=type, **kwargs)

    def __call__(self, parser, namespace, value, option_string=None):
        if value is not None and not 0 <= value < SEED_LIMIT:  # None: a nargs='?' flag given bare
            raise UserError(f"{option_string} {value}: a seed is 0 or more and below 2**32 ({SEED_LIMIT}); "
                            f"give e.g. {option_string} 0")
        setattr(namespace, self.dest, value)


def _terminate(signum, frame):
    raise Terminated()


def run(main, *args):
    """Run `main(*args)` as a program: a UserError becomes one line on stderr
    and exit status 2; Ctrl-C exits quietly with 130, SIGTERM with 143."""
    prog = os.path.basename(sys.argv[0]) or "prefinput"
    signal.signal(signal.SIGTERM, _terminate)
    try:
        status = main(*args)
    except UserError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt as interruption:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(128 + (signal.SIGTERM if isinstance(interruption, Terminated) else signal.SIGINT))
    sys.exit(status or 0)


def optional_path(text):
    """A path flag's value: the originals' scripts pass the word None for no file."""
    return None if text in ("None", "") else text


def add_setting_flags(parser, names, sources=None):
    """Add a `--<name>` flag for each setting, defaulting to setting(name), or
    to setting(sources[name]) where another setting gives it (the PPGN
    generator's); the help's epilog lists the variables so read and the
    registry models the defaults are fetched from, from the same names."""
    sources = sources or {}
    read = parser.__dict__.setdefault("settings_read", {})  # variable -> its default
    for name in names:
        variable = sources.get(name, name)
        default = setting(variable)
        parser.add_argument(f"--{name}", default=default,
                            help=f"default: {default} (environment: {variable.upper()})")
        read[variable.upper()] = default
    parser.epilog = textwrap.fill(help_epilog(read, read.values()), 79)


def help_epilog(variables, paths):
    """The help's last paragraph: the environment variables a program reads
    (`variables`, then those every program reads) and the registry models
    the files at `paths` come from."""
    return (f"Environment: {', '.join(variables)}, NETS_DIR (where models live), PREFINPUT_OFFLINE=1 (never "
            f"download), PREFINPUT_MIRROR, GPU=1.  {downloads_sentence(paths)}")


def downloads_sentence(paths):
    """The help's sentence naming the registry models the files at `paths`
    come from, fetched on first use."""
    return (f"Downloads on first use, where missing ({catalogue.FETCH_COMMAND} NAME): "
            f"{', '.join(catalogue.downloads_of(paths)) or 'nothing'}.")


def check_labels(flag, path, labels, units):
    """Stop with one line unless the label file at `path` (its `labels`) has a line for each of `units`."""
    missing = [unit for unit in units if not 0 <= unit < len(labels)]
    if missing:
        raise UserError(f"{flag} {path}: {len(labels)} labels, none for unit {missing[0]}; give a label file with "
                        "a line for every unit")


def print_settings(args, names):
    """The parameter summary the originals print before they start."""
    print("-------------")
    for name in names:
        print(" %s: %s" % (name, getattr(args, name)))
    print("-------------")
