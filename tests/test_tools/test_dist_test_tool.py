"""tools/test.py under ``torchrun --nproc_per_node 2`` (gloo, CPU) equals one process.

9 samples on 2 ranks: mmengine's sampler pads rank 1 with a repeated index,
which must neither produce a second file nor a tenth scored sample.
"""
import json

import numpy as np
import pytest
from tiny_test_setup import make_tiny_setup, read_png, run_test_tool, run_test_tool_torchrun

import sar_mm.models  # noqa: F401  (registers the generator for the checkpoint)


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    return make_tiny_setup(tmp_path_factory.mktemp('tiny_dist'))


def test_two_processes_write_the_same_set_once(setup, tmp_path):
    num = setup['num_samples']
    single = run_test_tool(setup, tmp_path / 'wd1', '--save-dir', str(tmp_path / 'one'))
    run_test_tool_torchrun(setup, tmp_path / 'wd2', '--save-dir', str(tmp_path / 'two'), '--out',
                           str(tmp_path / 'two.json'))
    names = sorted(p.name for p in (tmp_path / 'two').iterdir())
    # exactly N files and the folder's record, no leftovers
    assert names == [f'{i:06d}.png' for i in range(num)] + ['sar_mm_samples.json']
    names = names[:-1]
    for name in names:
        assert np.array_equal(read_png(tmp_path / 'two' / name), read_png(tmp_path / 'one' / name))
    # rank 0 scored the 9 samples of both ranks from the folder
    two = json.loads((tmp_path / 'two.json').read_text())['metrics']
    assert two == pytest.approx(single, abs=1e-6)
