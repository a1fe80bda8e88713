"""Checks against the official reference fixtures and rollout recordings, for tests and tools.

Tiny stand-ins live in their own modules: :mod:`.tiny_components` (model sizes)
and :mod:`.tiny_feature_extractor` (an Inception stand-in, registered with
torch-fidelity when imported, so it is not imported here).
"""
from .fixture_dispatch import PARITY_CHECKS, check_fixture, fixture_kind
from .model_zoo_parity import check_flexvae_small, check_flexvar_small, check_var_small
from .parity import (ParityRow, Tolerance, compare_close, compare_exact, format_rows,
                     load_reference, parse_tolerance, rows_by_name, sidecar_tolerance)
from .rollout_parity import ReplayedDraws, check_sar_guided_rollout
from .rollout_trace import BackboneCall, RecordingBackbone, RecordingSelector, RolloutTrace
from .sampling_parity import build_flexvar_pair, check_flexvar_sampling
from .sar_csfl_parity import build_sar_step_model, check_sar_csfl_step

__all__ = ['ParityRow', 'Tolerance', 'compare_close', 'compare_exact', 'format_rows',
           'load_reference', 'rows_by_name', 'sidecar_tolerance', 'build_sar_step_model',
           'check_sar_csfl_step', 'check_flexvae_small', 'check_flexvar_small',
           'check_var_small', 'PARITY_CHECKS', 'check_fixture', 'fixture_kind',
           'parse_tolerance', 'ReplayedDraws', 'check_sar_guided_rollout', 'build_flexvar_pair',
           'check_flexvar_sampling', 'BackboneCall', 'RecordingBackbone', 'RecordingSelector',
           'RolloutTrace']
