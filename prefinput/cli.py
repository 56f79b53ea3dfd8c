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
    """settings.<name>, unless the environment variable NAME (in capitals) is set."""
    value = os.environ.get(name.upper())
    if value is not None:
        return value
    import settings
    return getattr(settings, name)


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
