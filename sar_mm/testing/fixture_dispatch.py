"""Which parity check serves a reference fixture: dispatch on the sidecar's ``fixture`` field.

Every ``<name>.pt`` of the reference set has a ``<name>.json`` sidecar whose
``fixture`` field names its kind; :data:`PARITY_CHECKS` maps each kind to the
function that recomputes the fixture's quantities, and :func:`check_fixture`
runs the right one for a file. ``tools/analysis_tools/check_parity.py`` prints
the result for a whole folder.
"""
import json
from pathlib import Path
from typing import Callable, Dict, List, Tuple, Union

from .model_zoo_parity import check_flexvae_small, check_flexvar_small, check_var_small
from .parity import ParityRow
from .rollout_parity import check_sar_guided_rollout
from .sampling_parity import check_flexvar_sampling
from .sar_csfl_parity import check_sar_csfl_step

__all__ = ['PARITY_CHECKS', 'fixture_kind', 'check_fixture']


def _check_sar_csfl_step_file(pt_path: Path) -> List[ParityRow]:
    """:func:`check_sar_csfl_step` for a file (it reads ``sar_csfl_step.pt`` of a folder)."""
    if pt_path.stem != 'sar_csfl_step':
        raise ValueError(f'the sar_csfl_step check reads <folder>/sar_csfl_step.pt (with '
                         f'flexvar_small.pt and flexvae_small.pt beside it); got {pt_path.name}')
    return check_sar_csfl_step(pt_path.parent)


#: Sidecar ``fixture`` kind -> ``check(pt_path) -> list[ParityRow]``.
PARITY_CHECKS: Dict[str, Callable[[Path], List[ParityRow]]] = {
    'flexvae_small': check_flexvae_small,
    'flexvar_small': check_flexvar_small,
    'var_small': check_var_small,
    'sar_csfl_step': _check_sar_csfl_step_file,
    'flexvar_sampling': check_flexvar_sampling,
    'sar_guided_rollout': check_sar_guided_rollout,
}


def fixture_kind(pt_path: Union[str, Path]) -> str:
    """The ``fixture`` field of the sidecar ``<pt_path without .pt>.json``.

    Raises:
        FileNotFoundError: no sidecar.
        ValueError: the sidecar has no ``fixture`` field.
    """
    sidecar = Path(pt_path).with_suffix('.json')
    if not sidecar.is_file():
        raise FileNotFoundError(f'sidecar {sidecar.name} not found next to {Path(pt_path).name}')
    with open(sidecar, encoding='utf-8') as f:
        meta = json.load(f)
    if 'fixture' not in meta:
        raise ValueError(f"sidecar {sidecar.name} has no 'fixture' field")
    return meta['fixture']


def check_fixture(pt_path: Union[str, Path]) -> Tuple[str, List[ParityRow]]:
    """Run the parity check of a fixture file's kind.

    Args:
        pt_path: a reference ``.pt`` file with its ``.json`` sidecar beside it.

    Returns:
        tuple: the fixture kind and its rows.

    Raises:
        FileNotFoundError: missing sidecar (or a file the check needs).
        ValueError: a sidecar without ``fixture``, or a kind no check serves.
    """
    pt_path = Path(pt_path)
    kind = fixture_kind(pt_path)
    if kind not in PARITY_CHECKS:
        raise ValueError(f'no parity check for fixture kind {kind!r} (known: '
                       f'{", ".join(sorted(PARITY_CHECKS))})')
    return kind, PARITY_CHECKS[kind](pt_path)
