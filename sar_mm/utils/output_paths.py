"""Checks of the paths a tool will write, made before any work starts."""
import os
import os.path as osp
from typing import Sequence

__all__ = ['check_output_path', 'check_not_an_input']


def check_output_path(path: str, flag: str) -> None:
    """Refuse an output file path that is a directory or lies in an unwritable directory.

    Args:
        path: the file to be written.
        flag: the option or argument that gave it, for the message.

    Raises:
        IsADirectoryError, PermissionError: naming ``flag`` and ``path``.
    """
    if osp.isdir(path):
        raise IsADirectoryError(f'{flag} {path} is a directory; give a file path')
    parent = osp.dirname(osp.abspath(path))
    while not osp.exists(parent):
        parent = osp.dirname(parent)
    if not os.access(parent, os.W_OK):
        raise PermissionError(f'{flag} {path}: the directory {parent} is not writable')


def check_not_an_input(path: str, inputs: Sequence[str], flag: str) -> None:
    """Refuse to write ``path`` when it is one of ``inputs`` (the same file, by any name).

    Raises:
        ValueError: ``FLAG PATH is the input INPUT; ...``.
    """
    for source in inputs:
        same = (osp.exists(path) and osp.exists(source) and osp.samefile(path, source)) or \
            osp.realpath(path) == osp.realpath(source)
        if same:
            raise ValueError(f'{flag} {path} is the input {source}: writing it would replace the '
                             'input; give another output path')
