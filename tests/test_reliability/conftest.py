"""Uninterrupted reference runs shared by the reliability tests."""
from pathlib import Path

import pytest
from reliability_runs import ITER_CONFIG, run, train_cmd


@pytest.fixture(scope='session')
def reference_run(tmp_path_factory) -> Path:
    """``tiny_flexvar_sar_iter.py`` for its 8 iterations, never interrupted."""
    work_dir = tmp_path_factory.mktemp('reference')
    run(train_cmd(ITER_CONFIG, work_dir))
    return work_dir
