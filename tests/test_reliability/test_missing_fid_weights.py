"""Scenario 4f: a missing feature-extractor weight file fails when the metric is built.

The metric is built with the evaluator, before a single image is sampled, so a
50k-sample FID run never finds out after hours of sampling (``tools/test.py``
builds the evaluator first in ``--save-dir`` mode too).
"""
from pathlib import Path

import pytest
import torch
from reliability_runs import ITER_CONFIG, REPO
from script_loading import load_script

from sar_mm.evaluation.feature_extractor import FeatureExtractorWeightsNotFoundError
from sar_mm.registry import METRICS


def _fid_metric(reference: Path, **kwargs):
    return METRICS.build(dict(type='TorchFidelityMetric', fid=True, isc=False, prc=False,
                              reference=str(reference), **kwargs))


def test_explicit_path_that_does_not_exist(tmp_path: Path):
    missing = tmp_path / 'weights-inception-2015-12-05-6726825d.pth'
    with pytest.raises(FeatureExtractorWeightsNotFoundError) as error:
        _fid_metric(tmp_path, feature_extractor_weights_path=str(missing))
    message = str(error.value)
    assert f'not found at {missing}' in message
    assert 'weights-inception-2015-12-05-6726825d.pth' in message  # what to fetch
    assert 'sar_mm never downloads at run time' in message


def test_empty_torch_hub_cache(tmp_path: Path, monkeypatch):
    """No explicit path and nothing in $TORCH_HOME: the message says where to put the file."""
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    expected = tmp_path / 'hub' / 'checkpoints' / 'weights-inception-2015-12-05-6726825d.pth'
    with pytest.raises(FeatureExtractorWeightsNotFoundError, match=f'not found at {expected}'):
        _fid_metric(tmp_path)


def test_test_tool_fails_before_sampling(tmp_path: Path):
    config = tmp_path / 'fid.py'
    config.write_text(f"""
_base_ = [{str(ITER_CONFIG)!r}]
test_dataloader = dict(
    batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ClassLabelDataset', num_classes=10, samples_per_class=5))
test_cfg = dict(type='TestLoop')
test_evaluator = dict(type='TorchFidelityMetric', fid=True, isc=False, prc=False,
                      reference={str(tmp_path)!r},
                      feature_extractor_weights_path={str(tmp_path / 'missing.pth')!r})
""")
    tool = load_script(REPO / 'tools' / 'test.py', 'sar_mm_test_tool')
    save_dir = tmp_path / 'samples'
    checkpoint = tmp_path / 'never_loaded.pth'
    checkpoint.write_bytes(b'never loaded: the weights fail first')  # it must exist
    with pytest.raises(FeatureExtractorWeightsNotFoundError, match='missing.pth'):
        tool.main([str(config), str(checkpoint), '--work-dir', str(tmp_path / 'work'),
                   '--save-dir', str(save_dir), '--debug'])
    assert not save_dir.exists()  # not one sample was drawn
