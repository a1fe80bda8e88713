"""Rule-based conversion of official checkpoints into sar_mm state dicts.

A converter is an ordered table of ``(pattern, replacement)`` regex rules. Every
source key must match exactly one rule; the replacement may be ``None`` to drop a
key on purpose (e.g. a schedule-dependent mask buffer). The result is compared
with the target model's keys and shapes (built on the meta device) so that a
wrong checkpoint fails with the names of the offending keys.
"""
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

__all__ = ['ConversionError', 'convert_state_dict', 'check_state_dict_matches']

Rule = Tuple[str, Optional[str]]


class ConversionError(ValueError):
    """A checkpoint does not fit the conversion rules or the target model."""


def _short(keys: Iterable[str], limit: int = 20) -> str:
    keys = sorted(keys)
    more = f' ... (+{len(keys) - limit} more)' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def convert_state_dict(state_dict: Dict[str, torch.Tensor],
                       rules: Sequence[Rule]) -> Dict[str, torch.Tensor]:
    """Rename every key of ``state_dict`` by the one rule that matches it.

    Args:
        state_dict: source tensors.
        rules: ordered ``(regex, replacement)``; ``re.fullmatch`` is used and the
            replacement is expanded with ``match.expand``; ``None`` drops the key.

    Raises:
        ConversionError: a key matched by no rule or by more than one, or two
            source keys that map to the same target key.
    """
    compiled = [(re.compile(p), r) for p, r in rules]
    out: Dict[str, torch.Tensor] = {}
    unmatched: List[str] = []
    for key, value in state_dict.items():
        hits = [(m, r) for pat, r in compiled if (m := pat.fullmatch(key))]
        if not hits:
            unmatched.append(key)
            continue
        if len(hits) > 1:
            raise ConversionError(f'source key {key!r} is matched by {len(hits)} rules: '
                                  f'{[m.re.pattern for m, _ in hits]}')
        match, repl = hits[0]
        if repl is None:
            continue
        new_key = match.expand(repl)
        if new_key in out:
            raise ConversionError(f'two source keys map to {new_key!r}')
        out[new_key] = value
    if unmatched:
        raise ConversionError(f'{len(unmatched)} source key(s) matched by no conversion rule '
                              f'(is this the right checkpoint family?): {_short(unmatched)}')
    return out


def check_state_dict_matches(state_dict: Dict[str, torch.Tensor], model: nn.Module) -> None:
    """Check keys and shapes of ``state_dict`` against ``model.state_dict()``.

    The model may live on the meta device. Raises :class:`ConversionError`
    naming missing keys, unexpected keys and every shape mismatch.
    """
    expected = model.state_dict()
    missing = set(expected) - set(state_dict)
    unexpected = set(state_dict) - set(expected)
    wrong = [f'{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(expected[k].shape)}'
             for k in sorted(set(expected) & set(state_dict))
             if tuple(state_dict[k].shape) != tuple(expected[k].shape)]
    problems = []
    if missing:
        problems.append(f'missing keys: {_short(missing)}')
    if unexpected:
        problems.append(f'unexpected keys: {_short(unexpected)}')
    if wrong:
        problems.append('shape mismatches: ' + '; '.join(wrong[:20]))
    if problems:
        raise ConversionError('converted checkpoint does not fit the model: ' + ' | '.join(problems))
