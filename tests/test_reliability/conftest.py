"""Uninterrupted reference runs shared by the reliability tests; the sar_mm scope."""
from pathlib import Path

import pytest
from reliability_runs import ITER_CONFIG, run, train_cmd

from sar_mm.utils.setup_env import register_all_modules


@pytest.fixture(autouse=True)
def sar_mm_scope() -> None:
    """Every sar_mm module registered, ``sar_mm`` the default scope (as in a real run)."""
    register_all_modules(init_default_scope=True)


@pytest.fixture(scope='session')
def reference_run(tmp_path_factory) -> Path:
    """``tiny_flexvar_sar_iter.py`` for its 8 iterations, never interrupted."""
    work_dir = tmp_path_factory.mktemp('reference')
    run(train_cmd(ITER_CONFIG, work_dir))
    return work_dir


def pytest_terminal_summary(terminalreporter) -> None:
    """The probe battery's outcome counts (only when probes ran)."""
    from probe_battery import RESULTS, summary
    if RESULTS:
        terminalreporter.write_line(summary())
