"""What made an evaluation output, and the refusal to mix outputs of different settings.

Every output an evaluation tool keeps carries a *provenance* record::

    dict(sar_mm_version=..., tool=..., config=..., checkpoint=dict(path=..., sha256=...),
         settings={...})

``settings`` holds what decides the content (for a sample folder: the model
config with its sampling ``test_cfg`` and the test dataset's labels and seeds;
for statistics: the images and the feature extractor). A sample folder keeps
it in ``sar_mm_samples.json`` beside its PNGs, an ``.npz`` under the key
``provenance`` (a JSON string; the ADM evaluator reads only ``arr_0`` / ``mu``
/ ``sigma``) and a results JSON under ``provenance`` next to ``metrics``.

An output is reused or replaced only when its recorded checkpoint digest and
settings equal the new ones (the sar_mm version and file paths are recorded,
not compared). Otherwise :class:`OutputConflictError` names the differences
and the way out: another output path, or ``--overwrite``.
"""
import hashlib
import json
import os.path as osp
import zipfile
from typing import Any, Dict, List, Optional

import numpy as np

from sar_mm.utils.output_paths import check_output_path
from sar_mm.version import __version__

__all__ = [
    'OutputConflictError', 'SAMPLE_FOLDER_RECORD', 'file_sha256', 'make_provenance',
    'with_settings',
    'provenance_differences', 'read_recorded_provenance', 'check_output_file'
]

#: the provenance file of a sample folder
SAMPLE_FOLDER_RECORD = 'sar_mm_samples.json'


class OutputConflictError(ValueError):
    """An output path that holds results of other settings (or of unknown origin)."""


def file_sha256(path: str, chunk_bytes: int = 1 << 24) -> str:
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(chunk_bytes), b''):
            digest.update(chunk)
    return digest.hexdigest()


def make_provenance(tool: str, settings: Dict[str, Any], checkpoint: Optional[str] = None,
                    config: Optional[str] = None) -> Dict[str, Any]:
    """The provenance record of an output (see the module docstring).

    Args:
        tool: the tool that writes the output, e.g. ``'tools/test.py'``.
        settings: settings that decide the content (stored as JSON; values
            JSON cannot hold are stored as their ``str``).
        checkpoint: the checkpoint file the content came from, digested.
        config: the config file the settings came from (recorded, not compared).
    """
    record = dict(sar_mm_version=__version__, tool=tool,
                  settings=json.loads(json.dumps(settings, sort_keys=True, default=str)))
    if config is not None:
        record['config'] = osp.abspath(config)
    if checkpoint is not None:
        record['checkpoint'] = dict(path=osp.abspath(checkpoint), sha256=file_sha256(checkpoint))
    return record


def with_settings(record: Dict[str, Any], **settings: Any) -> Dict[str, Any]:
    """A copy of ``record`` with more settings (the checkpoint is not digested again)."""
    extra = json.loads(json.dumps(settings, sort_keys=True, default=str))
    return dict(record, settings=dict(record['settings'], **extra))


def _flat(value: Any, prefix: str = '') -> Dict[str, Any]:
    if isinstance(value, dict):
        flat = {}
        for key, item in value.items():
            flat.update(_flat(item, f'{prefix}.{key}' if prefix else str(key)))
        return flat
    return {prefix: value}


def _compared(record: Dict[str, Any]) -> Dict[str, Any]:
    """The entries of a record that decide an output's content, flattened to dotted keys."""
    flat = _flat(record.get('settings') or {}, 'settings')
    flat['checkpoint.sha256'] = (record.get('checkpoint') or {}).get('sha256')
    return flat


def provenance_differences(old: Dict[str, Any], new: Dict[str, Any]) -> List[str]:
    """``'KEY: OLD -> NEW'`` for every compared entry (settings, checkpoint digest) that differs."""
    old_flat, new_flat = _compared(old), _compared(new)
    return [f'{key}: {old_flat.get(key, "(absent)")} -> {new_flat.get(key, "(absent)")}'
            for key in sorted(set(old_flat) | set(new_flat))
            if old_flat.get(key) != new_flat.get(key)]


def read_recorded_provenance(path: str) -> Optional[Dict[str, Any]]:
    """The provenance recorded in an existing output (``.npz``, ``.json`` or a sample folder's
    record file), or ``None`` when it records none or cannot be read."""
    try:
        if path.endswith('.npz'):
            with np.load(path) as data:
                return json.loads(str(data['provenance'])) if 'provenance' in data.files else None
        with open(path, encoding='utf-8') as f:
            record = json.load(f)
        return record.get('provenance') if osp.basename(path) != SAMPLE_FOLDER_RECORD else record
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, AttributeError):
        return None


def check_output_file(path: str, provenance: Dict[str, Any], overwrite: bool, flag: str) -> None:
    """Allow writing ``path`` only if it is new, holds the same settings, or ``overwrite``.

    Raises:
        OutputConflictError: ``path`` exists with other (or unknown) settings; the
            message names the differences, another path and ``--overwrite``.
    """
    check_output_path(path, flag)
    if overwrite or not osp.exists(path):
        return
    recorded = read_recorded_provenance(path)
    if recorded is None:
        raise OutputConflictError(
            f'{flag} {path} exists and records no sar_mm settings; give a new path, or pass '
            '--overwrite to replace it')
    differences = provenance_differences(recorded, provenance)
    if differences:
        raise OutputConflictError(
            f'{flag} {path} holds results of other settings ({"; ".join(differences)}); give a '
            'new path, or pass --overwrite to replace it')
