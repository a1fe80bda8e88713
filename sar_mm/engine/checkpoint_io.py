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
"""
import os
import os.path as osp
import pickle
from typing import Any, Callable, List, Optional, Union

import torch
from mmengine.runner import CheckpointLoader

__all__ = ['trust_checkpoint_path', 'trusted_checkpoint_paths', 'is_trusted_checkpoint',
           'load_local_checkpoint', 'register_checkpoint_loader']

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
