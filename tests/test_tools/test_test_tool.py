"""tools/test.py on a tiny generator: metrics.json, the ADM .npz, PNGs and resuming."""
import json

import numpy as np
import pytest
import torch
from tiny_test_setup import make_tiny_setup, read_png
from tiny_test_setup import run_test_tool as run_tool

import sar_mm.models  # noqa: F401  (registers the generator for the checkpoint)


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    return make_tiny_setup(tmp_path_factory.mktemp('tiny'))


def test_streaming_and_folder_modes_agree_and_resume(setup, tmp_path):
    num = setup['num_samples']
    streamed = run_tool(setup, tmp_path / 'wd1', '--out', str(tmp_path / 'streamed.json'))
    assert json.loads((tmp_path / 'streamed.json').read_text()) == pytest.approx(streamed)
    assert {'fidelity/frechet_inception_distance', 'fidelity/inception_score_mean',
            'fidelity/precision', 'fidelity/recall'} <= set(streamed)

    samples = tmp_path / 'samples'
    folder = run_tool(setup, tmp_path / 'wd2', '--save-dir', str(samples), '--save-npz',
                      str(tmp_path / 'samples.npz'), '--out', str(tmp_path / 'folder.json'))
    # the same samples, scored from lossless PNGs, give the same numbers
    assert folder == pytest.approx(streamed, abs=1e-6)
    assert json.loads((tmp_path / 'folder.json').read_text()) == pytest.approx(folder)
    names = sorted(p.name for p in samples.iterdir())
    assert names == [f'{i:06d}.png' for i in range(num)]
    with np.load(tmp_path / 'samples.npz') as data:
        arr = data['arr_0']
    assert arr.dtype == np.uint8 and arr.shape == (num, 16, 16, 3)
    for i in range(num):
        assert np.array_equal(arr[i], read_png(samples / f'{i:06d}.png')), i
    assert len({arr[i].tobytes() for i in range(num)}) == num  # distinct samples

    # resume: only the two deleted samples are generated again, identically
    kept = {i: (samples / f'{i:06d}.png').stat().st_mtime_ns for i in range(num) if i not in (2, 7)}
    for i in (2, 7):
        (samples / f'{i:06d}.png').unlink()
    resumed = run_tool(setup, tmp_path / 'wd3', '--save-dir', str(samples))
    assert resumed == pytest.approx(folder, abs=1e-6)
    assert sorted(p.name for p in samples.iterdir()) == names
    assert all((samples / f'{i:06d}.png').stat().st_mtime_ns == t for i, t in kept.items())
    for i in (2, 7):
        assert np.array_equal(read_png(samples / f'{i:06d}.png'), arr[i]), i


def test_training_checkpoint_needs_trust(setup, tmp_path):
    """A checkpoint holding pickled objects (as MMEngine training runs write) loads
    only with --trust-checkpoint; plain state dicts load without it (above)."""
    from mmengine.logging import HistoryBuffer
    state = torch.load(setup['checkpoint'], weights_only=True)
    state['message_hub'] = dict(log_scalars=dict(loss=HistoryBuffer()))
    checkpoint = tmp_path / 'epoch_1.pth'
    torch.save(state, checkpoint)
    pickled = dict(setup, checkpoint=str(checkpoint))
    with pytest.raises(RuntimeError, match='--trust-checkpoint'):
        run_tool(pickled, tmp_path / 'wd1')
    trusted = run_tool(pickled, tmp_path / 'wd2', '--trust-checkpoint', str(checkpoint))
    assert trusted == pytest.approx(run_tool(setup, tmp_path / 'wd3'), abs=1e-6)
