"""Reading checkpoint files: every format sar_mm meets, one trust rule, exact errors.

Formats (each a ``torch.save`` file: a zip archive, or the older pickle stream):

- official releases: VAR's ``var_d*.pth`` and ``vae_ch160v4096z32.pth`` (flat
  state dicts); FlexVAR / SAR training checkpoints ``FlexVARd*-epo*.pth``,
  ``SARd*-epo*.pth`` (state dict under ``['trainer']['var_wo_ddp']``, next to
  the run's pickled argparse ``args``); ``FlexVAE.pth`` (under ``['model']``);
- converted sar_mm checkpoints (``tools/model_converters``:
  ``dict(state_dict=..., meta=...)``);
- MMEngine training checkpoints (``tools/train.py``: ``state_dict``, ``meta``,
  ``optimizer``, and a ``message_hub`` with ``HistoryBuffer`` objects).

Trust. torch >= 2.6 loads with ``weights_only=True``, which refuses pickled
Python objects (unpickling them can run arbitrary code). A file is loaded with
``weights_only=False`` only when it is *trusted*: ``trust_checkpoint=True`` for
one call (the tools' ``--trust-checkpoint``), or a file or directory passed to
:func:`trust_checkpoint_path` (``tools/train.py`` trusts its work directory).
Classes of a trusted file that cannot be imported (the official code base's
``Args``) are loaded as inert placeholders, with a warning naming them.

Errors name the file. Before ``torch.load`` runs, the file's first bytes are
checked, so a file that is not a checkpoint at all is called that (and never
told to pass a trust flag), whether trusted or not; a damaged one is called
truncated or corrupt; an untrusted one with Python objects names them and the
flag to pass. Missing / unexpected keys and shape mismatches are named by
:func:`sar_mm.utils.state_dict_conversion.state_dict_problems`.

Nothing happens at import: :func:`register_checkpoint_loader` installs
:func:`load_checkpoint_file` as MMEngine's local-file loader
(``sar_mm.utils.setup_env.register_all_modules`` calls it).
"""
import logging
import os
import os.path as osp
import pickle
import pickletools
import zipfile
from types import SimpleNamespace
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader
from torch.serialization import MAGIC_NUMBER

from .state_dict_conversion import state_dict_problems

__all__ = ['CheckpointReadError', 'CheckpointMismatchError', 'trust_checkpoint_path',
           'is_trusted_checkpoint', 'load_checkpoint_file', 'checkpoint_state_dict',
           'read_state_dict', 'load_state_dict_checked', 'register_checkpoint_loader']

PathLike = Union[str, os.PathLike]

_TRUSTED: List[str] = []
_ZIP_HEADER = b'PK\x03\x04'
# a pre-1.6 torch.save file starts with its magic number, pickled as a LONG1
_LEGACY_MAGIC = b'\x8a\x0a' + MAGIC_NUMBER.to_bytes(10, 'little')
# how the torch.save files hold tensors; any other class is a Python object
_TENSOR_GLOBALS = ('torch.', 'collections.OrderedDict', '_codecs.encode')
_TRUST_HINT = ('If you trust the file, pass --trust-checkpoint (tools/train.py and tools/test.py '
               'take the path: --trust-checkpoint PATH; in Python, trust_checkpoint=True).')


class CheckpointReadError(RuntimeError):
    """A file that cannot be read as a checkpoint: not one, damaged, or untrusted."""


class CheckpointMismatchError(ValueError):
    """A checkpoint whose content does not fit: no state dict of tensors, or wrong keys."""


def _real(path: PathLike) -> str:
    return osp.realpath(osp.abspath(osp.expanduser(os.fspath(path))))


def trust_checkpoint_path(path: PathLike) -> None:
    """Trust a checkpoint file, or every file below a directory."""
    real = _real(path)
    if real not in _TRUSTED:
        _TRUSTED.append(real)


def is_trusted_checkpoint(path: PathLike) -> bool:
    """Whether ``path`` is a trusted file or lies below a trusted directory."""
    real = _real(path)
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in _TRUSTED)


def _container(path: str) -> str:
    """``'zip'`` or ``'legacy'``: the torch.save format the file's bytes show.

    Raises:
        CheckpointReadError: not a torch.save file, or a zip archive whose
            directory is missing (a write or copy that stopped early).
    """
    with open(path, 'rb') as f:
        head = f.read(14)
    if not head:
        raise CheckpointReadError(f'{path} is not a checkpoint: the file is empty')
    if head.startswith(_ZIP_HEADER):
        try:
            pickle_name = _zip_pickle_name(path)
        except zipfile.BadZipFile as error:
            raise CheckpointReadError(
                f'{path} is truncated or corrupt: a zip archive (the torch.save format) whose '
                'directory at the end is missing or unreadable, as a write or copy that stopped '
                'early leaves it; write or fetch it again') from error
        if pickle_name is None:
            raise CheckpointReadError(f'{path} is not a checkpoint: a zip archive without the '
                                      'data.pkl that torch.save writes')
        return 'zip'
    if head[:1] == b'\x80' and head[2:] == _LEGACY_MAGIC:
        return 'legacy'
    raise CheckpointReadError(f'{path} is not a checkpoint: it does not start like a file '
                              f'written by torch.save (first bytes {head[:8]!r})')


def _zip_pickle_name(path: str) -> Optional[str]:
    with zipfile.ZipFile(path) as archive:
        return next((name for name in archive.namelist()
                     if name.count('/') == 1 and name.endswith('/data.pkl')), None)


def _pickled_globals(path: str, container: str) -> Optional[List[str]]:
    """The classes and functions named by the checkpoint's object pickle, or ``None``
    if that pickle is damaged.

    Only opcodes are read, nothing is unpickled. Names come from ``GLOBAL``
    opcodes (torch.save's default pickle protocol 2).
    """
    try:
        if container == 'zip':
            with zipfile.ZipFile(path) as archive, archive.open(_zip_pickle_name(path)) as f:
                return _globals_of_one_pickle(f)
        with open(path, 'rb') as f:
            for _ in range(3):  # magic number, protocol version, system info
                _globals_of_one_pickle(f)
            return _globals_of_one_pickle(f)
    except (ValueError, EOFError, OSError, zipfile.BadZipFile):
        return None


def _globals_of_one_pickle(f) -> List[str]:
    """``module.name`` of every ``GLOBAL`` of the pickle starting at ``f``'s position."""
    names = []
    for opcode, arg, _ in pickletools.genops(f):
        if opcode.name == 'GLOBAL':
            names.append(arg.replace(' ', '.'))
        elif opcode.name == 'STOP':
            return names
    raise EOFError('pickle without STOP')


def _is_damaged(path: str, container: str, error: Exception) -> Optional[str]:
    """Why a file that failed to load is damaged, or ``None`` if it looks intact."""
    if container == 'zip':
        try:
            with zipfile.ZipFile(path) as archive:
                bad_member = archive.testzip()
        except (zipfile.BadZipFile, EOFError, OSError) as zip_error:
            return f'its zip archive cannot be read ({zip_error})'
        if bad_member is not None:
            return f'{bad_member} fails its CRC check'
    if _pickled_globals(path, container) is None:
        return 'its pickled structure is cut short or garbled'
    if isinstance(error, EOFError) or 'corrupt' in str(error):  # torch's own verdict
        return f'{type(error).__name__}: {(str(error).splitlines() or [""])[0].rstrip(".")}'
    return None


class _Unavailable:
    """Stand-in for a class that cannot be imported (e.g. the official code's ``Args``)."""

    def __setstate__(self, state: Any) -> None:
        self.__dict__['pickled_state'] = state


def _lenient_pickle_module(replaced: List[str]) -> SimpleNamespace:
    """A ``pickle_module`` for ``torch.load`` that maps unimportable classes to
    :class:`_Unavailable` and records their names in ``replaced``."""

    class Unpickler(pickle.Unpickler):

        def find_class(self, module: str, name: str) -> Any:
            try:
                return super().find_class(module, name)
            except (ImportError, AttributeError):
                replaced.append(f'{module}.{name}')
                return _Unavailable

    return SimpleNamespace(__name__='sar_mm_lenient_pickle', Unpickler=Unpickler,
                           load=lambda f, **kwargs: Unpickler(f, **kwargs).load())


def load_checkpoint_file(path: PathLike,
                         map_location: Optional[Union[str, torch.device, Callable]] = 'cpu',
                         trust_checkpoint: bool = False,
                         mmap: bool = False) -> Any:
    """Load a checkpoint file of any format (MMEngine's loader signature for local files).

    Args:
        path: the file.
        map_location: as for ``torch.load``.
        trust_checkpoint (bool): load with ``weights_only=False`` (as do files
            under a path given to :func:`trust_checkpoint_path`). Only for
            files from a trusted source.
        mmap (bool): memory-map the tensors instead of reading them (zip
            format only).

    Returns:
        The unpickled object (a dict for every format above).

    Raises:
        FileNotFoundError: no such file.
        CheckpointReadError: ``PATH is not a checkpoint: ...``; ``PATH is
            truncated or corrupt: ...``; ``PATH holds Python objects besides
            tensors (...)`` with the flag to pass, when not trusted.
    """
    path = osp.expanduser(os.fspath(path))
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint file {path} not found')
    container = _container(path)
    trusted = trust_checkpoint or is_trusted_checkpoint(path)
    replaced: List[str] = []
    try:
        if trusted:
            checkpoint = torch.load(path, map_location=map_location, weights_only=False,
                                    mmap=mmap, pickle_module=_lenient_pickle_module(replaced))
        else:
            checkpoint = torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except Exception as error:  # torch raises many types for damaged or refused files
        refused = (not trusted and isinstance(error, pickle.UnpicklingError)
                   and str(error).startswith('Weights only load failed'))
        names = _pickled_globals(path, container) if refused else None
        if names is not None:
            objects = sorted({name for name in names if not name.startswith(_TENSOR_GLOBALS)})
            shown = ', '.join(objects[:5]) + (', ...' if len(objects) > 5 else '')
            raise CheckpointReadError(
                f'{path} holds Python objects besides tensors{f" ({shown})" if shown else ""}, '
                'so it was not loaded with weights_only=True (unpickling them can run code). '
                + _TRUST_HINT) from error
        damage = _is_damaged(path, container, error)
        if damage is None:
            raise
        raise CheckpointReadError(f'{path} is truncated or corrupt: {damage}; write or fetch '
                                  'it again') from error
    if replaced:
        print_log(f'{path}: classes {", ".join(sorted(set(replaced)))} cannot be imported '
                  'here; loaded as inert placeholders', logger='current', level=logging.WARNING)
    return checkpoint


#: Where each format keeps its state dict: (description, path of keys).
_STATE_DICT_LAYOUTS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("['state_dict'] (sar_mm, MMEngine)", ('state_dict', )),
    ("['trainer']['var_wo_ddp'] (FlexVAR / SAR training)", ('trainer', 'var_wo_ddp')),
    ("['model'] (FlexVAE)", ('model', )),
)


def checkpoint_state_dict(checkpoint: Any, path: PathLike) -> Dict[str, torch.Tensor]:
    """The state dict of a loaded checkpoint, in any of the formats above.

    The first layout present wins: ``['state_dict']``, then
    ``['trainer']['var_wo_ddp']``, then ``['model']``; otherwise the checkpoint
    itself is the state dict (VAR releases, ``torch.save(model.state_dict())``).

    Raises:
        CheckpointMismatchError: the found mapping is empty or holds entries
            that are not tensors under string keys.
    """
    if not isinstance(checkpoint, dict):
        raise CheckpointMismatchError(f'{path} holds a {type(checkpoint).__name__}, not a '
                                      'checkpoint dict')
    where, state_dict = 'flat', checkpoint
    for description, keys in _STATE_DICT_LAYOUTS:
        found = checkpoint
        for key in keys:
            found = found.get(key) if isinstance(found, dict) else None
        if isinstance(found, dict):
            where, state_dict = description, found
            break
    not_tensors = [str(k) for k, v in state_dict.items()
                   if not (isinstance(k, str) and torch.is_tensor(v))]
    if not state_dict or not_tensors:
        layouts = ', '.join(description for description, _ in _STATE_DICT_LAYOUTS)
        raise CheckpointMismatchError(
            f'{path} has no state dict of tensors: its {where} entries '
            f'{"are empty" if not state_dict else f"include non-tensors {not_tensors[:10]}"} '
            f'(state dicts are read from {layouts}, or flat as in the VAR releases)')
    return state_dict


def read_state_dict(path: PathLike, trust_checkpoint: bool = False) -> Dict[str, torch.Tensor]:
    """``checkpoint_state_dict(load_checkpoint_file(path, 'cpu', trust_checkpoint), path)``."""
    return checkpoint_state_dict(load_checkpoint_file(path, trust_checkpoint=trust_checkpoint),
                                 path)


def load_state_dict_checked(module: nn.Module, state_dict: Dict[str, torch.Tensor],
                            path: PathLike, what: str) -> None:
    """``module.load_state_dict(state_dict, strict=True)`` after naming every mismatch.

    Raises:
        CheckpointMismatchError: ``PATH does not fit the WHAT: N missing keys:
            ...; N unexpected keys: ...; N shape mismatches: ...``.
    """
    problems = state_dict_problems(state_dict, module.state_dict())
    if problems:
        raise CheckpointMismatchError(f'{path} does not fit the {what}: ' + '; '.join(problems))
    module.load_state_dict(state_dict, strict=True)


def register_checkpoint_loader() -> None:
    """Install :func:`load_checkpoint_file` as MMEngine's local-file loader (idempotent)."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_checkpoint_file, force=True)
