"""Checks against the official reference fixtures, usable from tests and tools."""
from .parity import (ParityRow, Tolerance, compare_close, compare_exact, format_rows,
                     load_reference, rows_by_name, sidecar_tolerance)
from .sar_csfl_parity import build_sar_step_model, check_sar_csfl_step

__all__ = ['ParityRow', 'Tolerance', 'compare_close', 'compare_exact', 'format_rows',
           'load_reference', 'rows_by_name', 'sidecar_tolerance', 'build_sar_step_model',
           'check_sar_csfl_step']
