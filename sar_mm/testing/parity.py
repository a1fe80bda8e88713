"""Comparison rows for checks against the official reference fixtures.

A parity check returns a list of :class:`ParityRow`, one per compared
quantity, so that tests assert on them and ``tools/analysis_tools`` scripts
print them. Tolerances come from the fixtures' JSON sidecars
(``determinism.recommended_tolerances_for_a_reimplementation``).
"""
import json
import re
from pathlib import Path
from typing import Dict, NamedTuple, Sequence, Tuple, Union

import torch

__all__ = ['ParityRow', 'Tolerance', 'load_reference', 'parse_tolerance', 'sidecar_tolerance',
           'compare_close',
           'compare_exact', 'format_rows', 'rows_by_name']


class Tolerance(NamedTuple):
    """Element-wise ``|actual - expected| <= atol + rtol * |expected|``."""

    atol: float = 0.0
    rtol: float = 0.0

    def __str__(self) -> str:
        return f'atol {self.atol:g} + rtol {self.rtol:g}'


class ParityRow(NamedTuple):
    """One compared quantity.

    Attributes:
        name (str): what was compared.
        max_abs_err (float): largest absolute difference (for token maps: the
            number of differing tokens).
        tolerance (str): ``'exact'`` or ``'atol A + rtol R'``.
        passed (bool): every element within tolerance.
    """

    name: str
    max_abs_err: float
    tolerance: str
    passed: bool


def load_reference(reference_dir: Union[str, Path], name: str) -> Tuple[dict, dict]:
    """``(tensors, sidecar)`` of ``<reference_dir>/<name>.pt`` and its ``.json``.

    Raises:
        FileNotFoundError: naming the missing file.
    """
    reference_dir = Path(reference_dir)
    pt, sidecar = reference_dir / f'{name}.pt', reference_dir / f'{name}.json'
    for path in (pt, sidecar):
        if not path.is_file():
            raise FileNotFoundError(f'reference fixture {path} not found')
    data = torch.load(pt, map_location='cpu', weights_only=True)
    with open(sidecar, encoding='utf-8') as f:
        return data, json.load(f)


def parse_tolerance(text: str) -> Tolerance:
    """The ``atol A`` / ``rtol R`` of a sidecar's text (a missing one is 0).

    Raises:
        ValueError: the text states neither.
    """
    atol = re.search(r'atol ([0-9.e+-]+)', text)
    rtol = re.search(r'rtol ([0-9.e+-]+)', text)
    if atol is None and rtol is None:
        raise ValueError(f'no atol / rtol in {text!r}')
    return Tolerance(float(atol.group(1)) if atol else 0.0, float(rtol.group(1)) if rtol else 0.0)


def sidecar_tolerance(sidecar: dict, kind: str) -> Tolerance:
    """The recommended tolerance whose key starts with ``kind`` (e.g. ``'scalar losses'``).

    Raises:
        KeyError: no or several keys start with ``kind``.
    """
    table = sidecar['determinism']['recommended_tolerances_for_a_reimplementation']
    matches = [text for key, text in table.items() if key.startswith(kind)]
    if len(matches) != 1:
        raise KeyError(f'no unique recommended tolerance for {kind!r}; keys: {list(table)}')
    return parse_tolerance(matches[0])


def _as_tensor(x) -> torch.Tensor:
    if isinstance(x, (list, tuple)):
        return torch.cat([torch.as_tensor(v).flatten() for v in x])
    return torch.as_tensor(x)


def compare_close(name: str, actual, expected, tol: Tolerance) -> ParityRow:
    """Float comparison in float64; lists of tensors are compared flattened."""
    a, e = _as_tensor(actual).detach().double().cpu(), _as_tensor(expected).double().cpu()
    if a.shape != e.shape:
        return ParityRow(name, float('inf'), f'shape {tuple(e.shape)}, got {tuple(a.shape)}',
                         False)
    err = (a - e).abs()
    passed = bool((err <= tol.atol + tol.rtol * e.abs()).all())
    return ParityRow(name, float(err.max()) if err.numel() else 0.0, str(tol), passed)


def compare_exact(name: str, actual, expected) -> ParityRow:
    """Integer comparison; ``max_abs_err`` counts the differing elements."""
    if isinstance(actual, (list, tuple)) != isinstance(expected, (list, tuple)) or (
            isinstance(actual, (list, tuple)) and len(actual) != len(expected)):
        return ParityRow(name, float('inf'), 'exact (structure differs)', False)
    pairs: Sequence = (list(zip(actual, expected)) if isinstance(actual, (list, tuple))
                       else [(actual, expected)])
    mismatches = 0
    for a, e in pairs:
        a, e = torch.as_tensor(a).cpu(), torch.as_tensor(e).cpu()
        if a.shape != e.shape:
            return ParityRow(name, float('inf'), f'exact (shape {tuple(e.shape)}, got '
                             f'{tuple(a.shape)})', False)
        mismatches += int((a != e).sum())
    return ParityRow(name, float(mismatches), 'exact', mismatches == 0)


def format_rows(rows: Sequence[ParityRow]) -> str:
    """A fixed-width table of the rows."""
    width = max([len(r.name) for r in rows] + [4])
    lines = [f'{"name":<{width}}  {"max_abs_err":>12}  {"tolerance":<26}  result']
    lines += [f'{r.name:<{width}}  {r.max_abs_err:>12.3e}  {r.tolerance:<26}  '
              f'{"ok" if r.passed else "FAIL"}' for r in rows]
    return '\n'.join(lines)


def rows_by_name(rows: Sequence[ParityRow]) -> Dict[str, ParityRow]:
    """Index rows by name (names are unique within one check)."""
    return {r.name: r for r in rows}
