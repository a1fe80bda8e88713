"""Loading MMEngine checkpoints on torch >= 2.6 (``weights_only`` default).

torch >= 2.6 loads with ``weights_only=True`` by default, and the checkpoints
MMEngine writes hold non-tensor objects (the message hub's ``HistoryBuffer``,
NumPy arrays), so MMEngine 0.10.7 cannot resume its own runs. This module
replaces MMEngine's local-file checkpoint loader with one that

- loads files under *trusted* paths (the run's ``work_dir``, an explicit
  ``--resume`` file, paths given with ``--trust-checkpoint``) with
  ``weights_only=False``: the run wrote them itself or the user vouched for them;
- loads every other file with ``weights_only=True`` (plain state dicts such as
  the converted VAR / FlexVAR / SAR weights), and names the file and the way to
  trust it when that fails.

Nothing happens at import: ``register_checkpoint_loader()`` installs the loader
(``sar_mm.utils.setup_env.register_all_modules`` calls it).

``find_resumable_checkpoint`` picks the checkpoint ``--resume auto`` continues
from: the newest one of a work directory that loads, skipping truncated or
otherwise unreadable files and a missing, empty or stale ``last_checkpoint``.
"""
import glob
import logging
import os
import os.path as osp
import pickle
from typing import Any, Callable, List, Optional, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader

__all__ = ['trust_checkpoint_path', 'trusted_checkpoint_paths', 'is_trusted_checkpoint',
           'load_local_checkpoint', 'register_checkpoint_loader', 'find_resumable_checkpoint']

_TRUSTED: List[str] = []


def _real(path: str) -> str:
    return osp.realpath(osp.abspath(osp.expanduser(path)))


def trust_checkpoint_path(path: str) -> None:
    """Trust a checkpoint file, or every file below a directory."""
    real = _real(path)
    if real not in _TRUSTED:
        _TRUSTED.append(real)


def trusted_checkpoint_paths() -> List[str]:
    """The trusted files and directories (resolved), in the order they were added."""
    return list(_TRUSTED)


def is_trusted_checkpoint(filename: str) -> bool:
    """Whether ``filename`` is a trusted file or lies below a trusted directory."""
    real = _real(filename)
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in _TRUSTED)


def load_local_checkpoint(filename: str,
                          map_location: Optional[Union[str, torch.device, Callable]] = None) -> Any:
    """Load a local checkpoint (MMEngine's loader signature for the '' scheme).

    Raises:
        FileNotFoundError: no such file.
        RuntimeError: an untrusted file that is not a plain state dict.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    if is_trusted_checkpoint(filename):
        return torch.load(filename, map_location=map_location, weights_only=False)
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise RuntimeError(
            f'{filename} holds more than tensors and plain containers, so it was not loaded '
            'with weights_only=True. If you trust it (for example a checkpoint written by an '
            'earlier sar_mm run), pass it with `tools/train.py --trust-checkpoint PATH` or call '
            '`sar_mm.engine.trust_checkpoint_path(PATH)` before loading.') from error


def register_checkpoint_loader() -> None:
    """Install ``load_local_checkpoint`` as MMEngine's local-file loader (idempotent)."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)


def _resume_position(filename: str) -> Optional[Tuple[int, int]]:
    """``(iter, epoch)`` from a checkpoint's meta, or ``None`` if it does not load.

    ``mmap=True`` maps the tensors instead of reading them, so this costs the
    unpickling of the structure only; a truncated file fails on its missing zip
    directory.
    """
    try:
        checkpoint = torch.load(filename, map_location='cpu', mmap=True, weights_only=False)
        meta = checkpoint['meta']
        return int(meta['iter']), int(meta['epoch'])
    except Exception as error:  # any unreadable or foreign file is skipped with its reason
        print_log(f'--resume auto: {filename} is not a complete checkpoint, skipped '
                  f'({type(error).__name__}: {error})', logger='current', level=logging.WARNING)
        return None


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint of ``work_dir`` that training should resume from.

    Candidates are the file named in ``work_dir/last_checkpoint`` and every
    ``*.pth`` directly in ``work_dir``. Each is opened (tensors memory-mapped,
    not read); files that fail (truncated by a crash, empty, not a training
    checkpoint) are skipped with a warning. Of the rest, the one with the
    highest ``meta['iter']`` wins; on a tie the ``last_checkpoint`` target, then
    the newer file.

    The files are unpickled with ``weights_only=False``: call this only on a work
    directory the run itself writes (``tools/train.py`` trusts it).

    Args:
        work_dir (str): the run's work directory.

    Returns:
        str | None: the checkpoint path, or ``None`` when none loads.
    """
    pointer_target = None
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer, encoding='utf-8') as f:
            pointer_target = f.read().strip() or None
    candidates = {_real(path): path for path in glob.glob(osp.join(glob.escape(work_dir), '*.pth'))}
    if pointer_target is not None:
        if osp.isfile(pointer_target):
            candidates.setdefault(_real(pointer_target), pointer_target)
        else:
            print_log(f'--resume auto: last_checkpoint names {pointer_target}, which does not '
                      'exist; looking for the newest complete checkpoint instead',
                      logger='current', level=logging.WARNING)
    pointer_real = None if pointer_target is None else _real(pointer_target)
    ranked = []
    for real, filename in candidates.items():
        position = _resume_position(filename)
        if position is not None:
            ranked.append(((position, real == pointer_real, os.stat(filename).st_mtime_ns),
                           filename))
    if not ranked:
        return None
    best = max(ranked)[1]
    if pointer_target is not None and _real(best) != pointer_real:
        print_log(f'--resume auto: resuming from {best} instead of last_checkpoint\'s '
                  f'{pointer_target}', logger='current', level=logging.WARNING)
    return best
