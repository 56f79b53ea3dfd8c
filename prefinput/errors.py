"""The exceptions the harness raises for a user to read: the bottom layer,
importing nothing of the project."""


class UserError(Exception):
    """A mistake the user can fix: reported in one line, without a traceback."""


class NotFinite(UserError, ValueError):
    """A setting that is NaN or infinite: it would reach Caffe, where a NaN
    corrupts memory (MAX pooling over an all-NaN window)."""

    def __init__(self, name, value):
        super().__init__(f"{name} {value}: expected a finite number")


class Terminated(KeyboardInterrupt):
    """SIGTERM (docker stop, a batch scheduler), raised where Python next runs
    so that it unwinds like Ctrl-C: files being written are finished or removed."""
