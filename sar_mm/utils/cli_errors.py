"""User errors of the command-line tools and demos: one line that names the input, not a traceback.

Library code raises; an entry point runs its ``main`` through :func:`run_cli`,
which turns the errors a user can cause (:data:`USER_ERRORS`: a bad setting, a
file that is missing, unreadable or not what it claims, a checkpoint that does
not fit) into ``error: <message>`` on stderr and exit status 1. ``--debug``
(:func:`add_debug_argument`) lets the exception through with its traceback.
Anything else (a bug) keeps its traceback.

Usage in a tool::

    def main(argv=None) -> int:
        args = parse_args(argv)  # its parser calls add_debug_argument(parser)
        ...

    if __name__ == '__main__':
        sys.exit(run_cli(main))
"""
import argparse
import sys
from typing import Callable, List, Optional, Sequence

from sar_mm.datasets.errors import UnreadableImageError
from .checkpoint_io import CheckpointReadError

__all__ = ['USER_ERRORS', 'add_debug_argument', 'positive_int', 'user_error_message', 'run_cli']

#: What a user's input can cause. ``ValueError`` covers the project's checks of settings and
#: data (and ``CheckpointMismatchError``, ``ConversionError``); ``KeyError`` the config
#: checks (unknown keys, types and arguments); ``OSError`` files and folders that are
#: missing, not writable or of the wrong kind; the two ``RuntimeError``-s unreadable images
#: and checkpoints.
USER_ERRORS = (ValueError, KeyError, OSError, UnreadableImageError, CheckpointReadError)

DEBUG_FLAG = '--debug'


def add_debug_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--debug`` flag that :func:`run_cli` reads."""
    parser.add_argument(DEBUG_FLAG, action='store_true',
                        help='show the traceback of an error instead of a one-line message')


def positive_int(text: str) -> int:
    """``argparse`` type: a whole number >= 1 (``0``, ``-1`` and ``1.5`` are refused)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a whole number >= 1, got {text!r}') from None
    if value < 1:
        raise argparse.ArgumentTypeError(f'expected a whole number >= 1, got {value}')
    return value


def user_error_message(error: BaseException) -> str:
    """The message of ``error`` as one line of text.

    ``KeyError`` loses its quotes; an error re-raised by a DataLoader worker
    (``Caught ValueError in DataLoader worker process 0. Original Traceback ...``)
    is reduced to the worker's own message.
    """
    message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    message = str(message)
    if 'Original Traceback (most recent call last)' in message:
        last = message.rstrip().splitlines()[-1]
        message = last.split(': ', 1)[1] if ': ' in last else last
    return ' '.join(message.split()) or type(error).__name__


def run_cli(main: Callable[[Optional[List[str]]], Optional[int]],
            argv: Optional[Sequence[str]] = None) -> int:
    """Run ``main(argv)`` and return its exit status; a user error becomes one line.

    Args:
        main: the tool's entry point; takes the arguments after the script name
            and returns an exit status (anything but an ``int``, e.g. ``None`` or
            the metrics of ``tools/test.py``, is 0).
        argv: the arguments, default ``sys.argv[1:]``. With ``--debug`` among
            them, errors are raised with their traceback.

    Returns:
        int: ``main``'s status, or 1 after printing ``error: <message>`` to stderr
        for an exception of :data:`USER_ERRORS`.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        status = main(argv)
    except USER_ERRORS as error:
        if DEBUG_FLAG in argv:
            raise
        print(f'error: {user_error_message(error)} ({DEBUG_FLAG} shows the traceback)',
              file=sys.stderr, flush=True)
        return 1
    return status if isinstance(status, int) else 0
