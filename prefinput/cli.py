"""Command-line plumbing: one-line errors for user mistakes, and settings
that environment variables and flags can override."""
import os
import sys


class UserError(Exception):
    """A mistake the user can fix: reported in one line, without a traceback."""


def run(main, *args):
    """Run `main(*args)` as a program: a UserError becomes one line on stderr
    and exit status 2; Ctrl-C exits quietly with 130."""
    prog = os.path.basename(sys.argv[0]) or "prefinput"
    try:
        status = main(*args)
    except UserError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(status or 0)


def setting(name):
    """The default <name> (prefinput.defaults, which settings.py shows),
    unless the environment variable NAME (in capitals) is set."""
    value = os.environ.get(name.upper())
    if value is not None:
        return value
    from prefinput import defaults
    return getattr(defaults, name)


def optional_path(text):
    """A path flag's value: the originals' scripts pass the word None for no file."""
    return None if text in ("None", "") else text


def truthy(value):
    """A switch given as 1/0, true/false, yes/no, on/off, or a bool."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def add_setting_flags(parser, names, defaults=None):
    """Add a `--<name>` flag for each setting, defaulting to `defaults[name]`
    when given, else to setting(name)."""
    defaults = defaults or {}
    for name in names:
        default = defaults[name] if name in defaults else setting(name)
        parser.add_argument(f"--{name}", default=default,
                            help=f"default: {default} (environment: {name.upper()})")


def existing_file(path, what, hint="check the path"):
    """Return `path` if it is a file, else raise a UserError naming `what`."""
    if not os.path.isfile(path):
        raise UserError(f"{what} not found: {path}; {hint}")
    return path


def print_settings(args, names):
    """The parameter summary the originals print before they start."""
    print("-------------")
    for name in names:
        print(" %s: %s" % (name, getattr(args, name)))
    print("-------------")
