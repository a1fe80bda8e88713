"""tools/test.py on a tiny generator: metrics.json, the ADM .npz, PNGs and resuming."""
import json
import logging

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from tiny_test_setup import load_test_tool, make_tiny_setup, read_png
from tiny_test_setup import run_test_tool as run_tool

import sar_mm.models  # noqa: F401  (registers the generator for the checkpoint)


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    return make_tiny_setup(tmp_path_factory.mktemp('tiny'))


def test_streaming_and_folder_modes_agree_and_resume(setup, tmp_path):
    num = setup['num_samples']
    streamed = run_tool(setup, tmp_path / 'wd1', '--out', str(tmp_path / 'streamed.json'))
    written = json.loads((tmp_path / 'streamed.json').read_text())
    assert written['metrics'] == pytest.approx(streamed)
    assert {'fidelity/frechet_inception_distance', 'fidelity/inception_score_mean',
            'fidelity/precision', 'fidelity/recall'} <= set(streamed)

    samples = tmp_path / 'samples'
    folder = run_tool(setup, tmp_path / 'wd2', '--save-dir', str(samples), '--save-npz',
                      str(tmp_path / 'samples.npz'), '--out', str(tmp_path / 'folder.json'))
    # the same samples, scored from lossless PNGs, give the same numbers
    assert folder == pytest.approx(streamed, abs=1e-6)
    assert json.loads((tmp_path / 'folder.json').read_text())['metrics'] == pytest.approx(folder)
    names = sorted(p.name for p in samples.glob('*.png'))
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
    assert sorted(p.name for p in samples.glob('*.png')) == names
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
        run_tool(pickled, tmp_path / 'wd1', '--debug')
    trusted = run_tool(pickled, tmp_path / 'wd2', '--trust-checkpoint', str(checkpoint))
    assert trusted == pytest.approx(run_tool(setup, tmp_path / 'wd3'), abs=1e-6)


def _merged_test_cfg(tool, setup, *extra):
    args = tool.parse_args([setup['config'], setup['checkpoint'], *extra])
    cfg = tool.merge_args(Config.fromfile(setup['config']), args)
    return cfg.model.test_cfg, cfg.test_dataloader.batch_size


def test_protocol_flag_sets_the_sampling_keys(setup):
    tool = load_test_tool()
    test_cfg, batch = _merged_test_cfg(tool, setup, '--protocol', 'exact')
    assert (test_cfg.precision, test_cfg.tf32, test_cfg.batch_invariant, batch) == (
        'fp32', False, True, 2)
    # --cfg-options refine a protocol
    test_cfg, _ = _merged_test_cfg(tool, setup, '--protocol', 'exact', '--cfg-options',
                                   'model.test_cfg.batch_invariant=auto')
    assert test_cfg.batch_invariant == 'auto'
    cfg = Config.fromfile(setup['config'])
    tool.apply_protocol(cfg, 'official', 'cuda')  # a config edit: no GPU needed
    assert (cfg.model.test_cfg.precision, cfg.model.test_cfg.tf32,
            cfg.model.test_cfg.batch_invariant, cfg.test_dataloader.batch_size) == (
                'fp16', True, False, tool.OFFICIAL_BATCH_SIZE)
    with pytest.raises(SystemExit):  # one or the other
        tool.parse_args([setup['config'], setup['checkpoint'], '--protocol', 'official',
                         '--precision', 'fp32'])


def test_official_protocol_on_cpu_samples_batched_with_the_precision_policy(setup, tmp_path):
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()  # the tool logs the protocol before its Runner
    logger.addHandler(handler)
    try:
        official = run_tool(setup, tmp_path / 'wd1', '--protocol', 'official')
    finally:
        logger.removeHandler(handler)
    assert any(r.levelno == logging.WARNING and "on cpu it samples batched with the precision "
               "policy ('auto')" in r.getMessage() for r in records)
    equivalent = run_tool(setup, tmp_path / 'wd2', '--cfg-options', 'model.test_cfg.precision=auto',
                          'model.test_cfg.batch_invariant=False')
    assert official == pytest.approx(equivalent, abs=1e-6)
