"""How the tools report a user's error: one line and a non-zero exit, the traceback on ``--debug``.

Library code raises; a tool wraps its work in :func:`report_user_errors`::

    with report_user_errors(args.debug):
        run(args)

An error of :data:`USER_ERRORS` (the project's own checkpoint, conversion and
output errors, and the file, value and key errors raised for what a user
passed) is printed as ``error: MESSAGE`` on stderr and the process exits with
status 1; with ``debug=True`` it propagates with its traceback. Any other
exception is a bug and always propagates.
"""
import argparse
import contextlib
import sys
from typing import Iterator, Tuple, Type

from .checkpoint_io import CheckpointMismatchError, CheckpointReadError
from .state_dict_conversion import ConversionError

__all__ = ['USER_ERRORS', 'add_debug_flag', 'report_user_errors']

#: errors that describe what the user passed (files, values, settings), not a bug
USER_ERRORS: Tuple[Type[BaseException], ...] = (CheckpointReadError, CheckpointMismatchError,
                                                 ConversionError, OSError, ValueError, KeyError)


def add_debug_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--debug`` (show the traceback of a user error) to a tool's parser."""
    parser.add_argument('--debug', action='store_true',
                        help='show the full traceback of an error instead of one line')


def _one_line(error: BaseException) -> str:
    text = error.args[0] if isinstance(error, KeyError) and error.args else error
    return ' '.join(str(text).split()) or type(error).__name__


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
        print(f'error: {_one_line(error)} (--debug shows the traceback)', file=sys.stderr,
              flush=True)
        sys.exit(1)
