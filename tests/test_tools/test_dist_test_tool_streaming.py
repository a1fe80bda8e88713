"""Streaming FID (features collected from 2 torchrun ranks) equals one process.

9 samples on 2 ranks: rank 1 also generates a repeated padding index, which
must not reach the statistics (the metric checks that exactly 9 distinct
``sample_idx`` values remain).
"""
import json

import pytest
from tiny_test_setup import make_tiny_setup, run_test_tool, run_test_tool_torchrun

import sar_mm.models  # noqa: F401  (registers the generator for the checkpoint)


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    return make_tiny_setup(tmp_path_factory.mktemp('tiny_stream'))


def test_two_process_streaming_metrics_equal_one_process(setup, tmp_path):
    single = run_test_tool(setup, tmp_path / 'wd1')
    run_test_tool_torchrun(setup, tmp_path / 'wd2', '--out', str(tmp_path / 'two.json'))
    two = json.loads((tmp_path / 'two.json').read_text())['metrics']
    assert set(two) == set(single)
    assert two == pytest.approx(single, abs=1e-6)
