"""The results JSON of the evaluation tools: valid JSON, with what made it.

Layout: ``{"metrics": {NAME: VALUE}, "provenance": {...}}`` (see
:mod:`sar_mm.evaluation.provenance`). A metric that is NaN or infinite (e.g. a
FID whose covariance square root failed) is written as ``null`` with a warning
naming it: ``json.dumps`` would otherwise write a bare ``NaN``, which is not
JSON. The file is written atomically.
"""
import json
import logging
import math
from typing import Any, Dict

from mmengine.logging import print_log

from sar_mm.engine.atomic_local_backend import atomic_write_bytes

__all__ = ['finite_metrics', 'write_results_json']


def finite_metrics(metrics: Dict[str, Any]) -> Dict[str, Any]:
    """``metrics`` with every NaN / inf float replaced by ``None``, warning about each."""
    bad = [name for name, value in metrics.items()
           if isinstance(value, float) and not math.isfinite(value)]
    if bad:
        print_log(f'metrics {", ".join(bad)} are NaN or infinite: not usable, written as null',
                  logger='current', level=logging.WARNING)
    return {name: None if name in bad else value for name, value in metrics.items()}


def write_results_json(path: str, metrics: Dict[str, Any], provenance: Dict[str, Any]) -> str:
    """Write ``{"metrics": ..., "provenance": ...}`` to ``path`` atomically; returns the text."""
    text = json.dumps(dict(metrics=finite_metrics(metrics), provenance=provenance), indent=2,
                      allow_nan=False)
    atomic_write_bytes((text + '\n').encode(), path)
    return text
