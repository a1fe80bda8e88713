"""How the tools and demos report a user's error: one line and a non-zero exit, the traceback
on ``--debug``.

Library code raises. A tool either runs its ``main`` through :func:`run_cli`::

    def main(argv=None) -> int:
        args = parse_args(argv)  # its parser calls add_debug_flag(parser)
        ...

    if __name__ == '__main__':
        sys.exit(run_cli(main))

or wraps its work in :func:`report_user_errors`::

    with report_user_errors(args.debug):
        run(args)

An error of :data:`USER_ERRORS` (the project's own checkpoint, conversion and
image errors, and the file, value and key errors raised for what a user passed)
is printed as ``error: MESSAGE`` on stderr and the exit status is 1; with
``--debug`` it propagates with its traceback. Any other exception is a bug and
always propagates.
"""
import argparse
import contextlib
import sys
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, Type

from sar_mm.datasets.errors import UnreadableImageError
from .checkpoint_io import CheckpointMismatchError, CheckpointReadError
from .state_dict_conversion import ConversionError

__all__ = ['USER_ERRORS', 'add_debug_flag', 'positive_int', 'user_error_message',
           'report_user_errors', 'run_cli']

#: errors that describe what the user passed (files, images, values, settings), not a bug;
#: ``KeyError`` is what the config checks raise for unknown keys, types and arguments
USER_ERRORS: Tuple[Type[BaseException], ...] = (CheckpointReadError, CheckpointMismatchError,
                                                 ConversionError, UnreadableImageError, OSError,
                                                 ValueError, KeyError)

DEBUG_FLAG = '--debug'


def add_debug_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--debug`` (show the traceback of a user error) to a tool's parser."""
    parser.add_argument(DEBUG_FLAG, action='store_true',
                        help='show the full traceback of an error instead of one line')


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
    message = str(error.args[0] if isinstance(error, KeyError) and error.args else error)
    if 'Original Traceback (most recent call last)' in message:
        last = message.rstrip().splitlines()[-1]
        message = last.split(': ', 1)[1] if ': ' in last else last
    return ' '.join(message.split()) or type(error).__name__


def _print_user_error(error: BaseException) -> None:
    print(f'error: {user_error_message(error)} ({DEBUG_FLAG} shows the traceback)',
          file=sys.stderr, flush=True)


@contextlib.contextmanager
def report_user_errors(debug: bool = False) -> Iterator[None]:
    """Turn a :data:`USER_ERRORS` exception into ``error: MESSAGE`` and exit status 1.

    Args:
        debug (bool): re-raise instead, so that the traceback is shown.
    """
    try:
        yield
    except USER_ERRORS as error:
        if debug:
            raise
        _print_user_error(error)
        sys.exit(1)


def run_cli(main: Callable[[Optional[List[str]]], object],
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
        _print_user_error(error)
        return 1
    return status if isinstance(status, int) else 0
