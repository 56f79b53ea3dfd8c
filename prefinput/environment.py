"""Settings read from the environment: a default (prefinput.defaults, which
settings.py shows) unless a variable of the same name overrides it, and
switches given as words."""
import os


def setting(name):
    """The default <name> (prefinput.defaults, which settings.py shows),
    unless the environment variable NAME (in capitals) is set."""
    value = os.environ.get(name.upper())
    if value is not None:
        return value
    from prefinput import defaults
    return getattr(defaults, name)


def truthy(value):
    """A switch given as 1/0, true/false, yes/no, on/off, or a bool."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
