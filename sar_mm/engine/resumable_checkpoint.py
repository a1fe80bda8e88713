"""The checkpoint ``tools/train.py --resume auto`` continues from.

``find_resumable_checkpoint`` picks the newest checkpoint of a work directory
that loads, skipping truncated or otherwise unreadable files and a missing,
empty or stale ``last_checkpoint``. Only files inside the work directory are
considered: MMEngine writes an absolute path into ``last_checkpoint``, so in a
copied or restored work directory it names the original directory's file,
which is neither this run's nor trusted (it would be unpickled with
``weights_only=False``). Files are read by
:func:`sar_mm.utils.checkpoint_io.load_checkpoint_file`.
"""
import glob
import logging
import os
import os.path as osp
from typing import Optional, Tuple

from mmengine.logging import print_log

from sar_mm.utils.checkpoint_io import load_checkpoint_file

__all__ = ['find_resumable_checkpoint']


def _real(path: str) -> str:
    return osp.realpath(osp.abspath(osp.expanduser(path)))


def _inside(path: str, directory: str) -> bool:
    """Whether ``path`` (resolved) lies below ``directory`` (resolved)."""
    return _real(path).startswith(_real(directory).rstrip(os.sep) + os.sep)


def _resume_position(filename: str) -> Optional[Tuple[int, int]]:
    """``(iter, epoch)`` from a checkpoint's meta, or ``None`` if it does not load.

    ``mmap=True`` maps the tensors instead of reading them, so this costs the
    unpickling of the structure only; a truncated file fails on its missing zip
    directory.
    """
    try:
        checkpoint = load_checkpoint_file(filename, trust_checkpoint=True, mmap=True)
        meta = checkpoint['meta']
        return int(meta['iter']), int(meta['epoch'])
    except Exception as error:  # any unreadable or foreign file is skipped with its reason
        print_log(f'--resume auto: {filename} is not a complete checkpoint, skipped '
                  f'({type(error).__name__}: {error})', logger='current', level=logging.WARNING)
        return None


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint of ``work_dir`` that training should resume from.

    Candidates are the file named in ``work_dir/last_checkpoint`` and every
    ``*.pth`` directly in ``work_dir``; a ``last_checkpoint`` naming a file
    outside ``work_dir`` (symbolic links resolved) is ignored with a warning.
    Each is opened (tensors memory-mapped, not read); files that fail
    (truncated by a crash, empty, not a training checkpoint) are skipped with a
    warning. Of the rest, the one with the
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
    candidates = {_real(path): path for path in glob.glob(osp.join(glob.escape(work_dir), '*.pth'))
                  if _inside(path, work_dir)}
    if pointer_target is not None and not _inside(pointer_target, work_dir):
        print_log(f'--resume auto: last_checkpoint names {pointer_target}, outside the work '
                  f'directory {work_dir} (a copied or moved work directory?); ignored, only '
                  'checkpoints inside the work directory are resumed. To continue from that '
                  'file, pass it: --resume PATH --trust-checkpoint PATH',
                  logger='current', level=logging.WARNING)
        pointer_target = None
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
