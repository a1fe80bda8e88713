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

__all__ = ['ConversionError', 'convert_state_dict', 'check_state_dict_matches',
           'state_dict_problems']

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


def _shape(value) -> tuple:
    return tuple(value.shape) if hasattr(value, 'shape') else ()


def state_dict_problems(state_dict: Dict[str, torch.Tensor],
                        expected: Dict[str, torch.Tensor]) -> List[str]:
    """Missing keys, unexpected keys and shape mismatches, as readable lines.

    Args:
        state_dict: the checkpoint's entries.
        expected: the model's ``state_dict()`` (may live on the meta device).

    Returns:
        list[str]: one line per kind of problem, each with its count and the
        first 20 keys; empty when the two fit.
    """
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    misshaped = [f'{key}: checkpoint {_shape(state_dict[key])} vs model {_shape(expected[key])}'
                 for key in sorted(set(expected) & set(state_dict))
                 if _shape(state_dict[key]) != _shape(expected[key])]
    return [f'{len(keys)} {what}: {_short(keys)}'
            for what, keys in (('missing keys', missing), ('unexpected keys', unexpected),
                               ('shape mismatches', misshaped)) if keys]


def check_state_dict_matches(state_dict: Dict[str, torch.Tensor], model: nn.Module) -> None:
    """Check keys and shapes of ``state_dict`` against ``model.state_dict()``.

    The model may live on the meta device. Raises :class:`ConversionError`
    naming missing keys, unexpected keys and every shape mismatch.
    """
    problems = state_dict_problems(state_dict, model.state_dict())
    if problems:
        raise ConversionError('converted checkpoint does not fit the model: ' + ' | '.join(problems))
