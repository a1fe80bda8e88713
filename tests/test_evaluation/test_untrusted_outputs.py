"""Outputs and metrics that cannot be trusted say so: NaN as JSON null, few images warned,
feature weights checked as tensors-only, interrupted writes leave the previous file."""
import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger
from script_loading import load_script

from sar_mm.evaluation import (SampleFolderDataset, TorchFidelityMetric, load_reference_statistics,
                               pack_sample_folder, save_reference_statistics, write_sample_image)
from sar_mm.evaluation.results_json import write_results_json
from sar_mm.testing.tiny_feature_extractor import TINY_EXTRACTOR, random_images, write_png_folder
from sar_mm.utils.checkpoint_io import CheckpointReadError, trust_checkpoint_path

REF_TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools' / \
    'make_fid_ref_stats.py'


@pytest.fixture
def warnings_logged():
    """Messages of WARNING level logged to the current MMLogger during the test."""
    records = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = lambda record: records.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def _reject_constant(name: str):
    raise ValueError(f'bare {name} is not JSON')


def test_nan_metric_is_written_as_null(tmp_path, warnings_logged):
    out = tmp_path / 'metrics.json'
    write_results_json(str(out), dict(fid=float('nan'), isc=2.5), dict(tool='t'))
    written = json.loads(out.read_text(), parse_constant=_reject_constant)  # strict JSON
    assert written == dict(metrics=dict(fid=None, isc=2.5), provenance=dict(tool='t'))
    assert any('fid' in message and 'NaN' in message for message in warnings_logged)


def test_reference_of_few_images_is_warned_when_made_and_when_read(tmp_path, warnings_logged):
    write_png_folder(tmp_path / 'real', random_images(6, seed=3))  # 6 images, 8-d features
    out = tmp_path / 'ref.npz'
    load_script(REF_TOOL, 'make_fid_ref_stats').main(
        [str(tmp_path / 'real'), str(out), '--size', '0', '--feature-extractor', TINY_EXTRACTOR,
         '--device', 'cpu'])
    assert any('come from 6 images, fewer than the 8 feature dimensions' in message
               for message in warnings_logged)
    warnings_logged.clear()
    load_reference_statistics(str(out), TINY_EXTRACTOR, 'feat')
    assert any(str(out) in message and 'fewer than the 8' in message
               for message in warnings_logged)


def test_nan_statistics_are_refused_when_made_and_when_read(tmp_path):
    with pytest.raises(ValueError, match='NaN or inf'):
        save_reference_statistics(str(tmp_path / 'a.npz'), np.full(8, np.nan), np.eye(8),
                                  TINY_EXTRACTOR, 'feat', 100)
    assert not (tmp_path / 'a.npz').exists()
    np.savez(tmp_path / 'b.npz', mu=np.zeros(8), sigma=np.full((8, 8), np.inf))
    with pytest.raises(ValueError, match=r'b\.npz holds NaN or inf in sigma'):
        load_reference_statistics(str(tmp_path / 'b.npz'), TINY_EXTRACTOR, 'feat')


def test_pickled_feature_weights_need_trust(tmp_path):
    weights = tmp_path / 'inception.pth'
    torch.save(dict(w=torch.zeros(1), note=Path('x')), weights)
    with pytest.raises(CheckpointReadError,
                       match=r'feature_extractor_weights_path.*inception\.pth holds Python '
                       r'objects.*--trust-checkpoint'):
        TorchFidelityMetric(fid=False, prc=False, feature_extractor_weights_path=str(weights))
    trusted = TorchFidelityMetric(fid=False, prc=False, feature_extractor_weights_path=str(weights),
                                  trust_feature_extractor_weights=True)
    assert trusted.weights_path == str(weights)
    trust_checkpoint_path(tmp_path)  # as tools/test.py --trust-checkpoint DIR
    assert TorchFidelityMetric(fid=False, prc=False,
                               feature_extractor_weights_path=str(weights)).weights_path


def _interrupted_savez(file, *args, **kwargs):
    if isinstance(file, (str, os.PathLike)):  # a write into the destination itself
        file = open(file, 'wb')
    file.write(b'PK\x03\x04 the first bytes of an archive')
    file.flush()
    raise KeyboardInterrupt  # as a Ctrl-C or a kill in the middle of the write


def test_interrupted_npz_writes_keep_the_previous_file(tmp_path, monkeypatch):
    stats = tmp_path / 'ref.npz'
    save_reference_statistics(str(stats), np.zeros(8), np.eye(8), TINY_EXTRACTOR, 'feat', 100)
    for i, image in enumerate(random_images(2, seed=1)):
        write_sample_image(str(tmp_path / 'samples'), i, image)
    packed = tmp_path / 'samples.npz'
    pack_sample_folder(str(tmp_path / 'samples'), str(packed), [0, 1])
    before = {path: path.read_bytes() for path in (stats, packed)}

    monkeypatch.setattr(np, 'savez', _interrupted_savez)
    with pytest.raises(KeyboardInterrupt):
        save_reference_statistics(str(stats), np.ones(8), np.eye(8), TINY_EXTRACTOR, 'feat', 100)
    with pytest.raises(KeyboardInterrupt):
        pack_sample_folder(str(tmp_path / 'samples'), str(packed), [0])
    assert {path: path.read_bytes() for path in before} == before
    assert not list(tmp_path.glob('.*.partial'))
    assert len(SampleFolderDataset(str(tmp_path / 'samples'), [0, 1])) == 2


def test_eval_folders_warns_of_fid_from_fewer_images_than_features(tmp_path, warnings_logged):
    """Both folders are counted before scoring; 6 images against 8-d features are named."""
    write_png_folder(tmp_path / 'real', random_images(12, seed=3))
    write_png_folder(tmp_path / 'fake', random_images(6, seed=4))
    load_script(REF_TOOL.parent / 'eval_folders.py', 'eval_folders').main(
        [str(tmp_path / 'real'), str(tmp_path / 'fake'), '--metrics', 'fid',
         '--feature-extractor', TINY_EXTRACTOR, '--device', 'cpu'])
    few = [message for message in warnings_logged if 'fewer than the 8' in message]
    assert len(few) == 1 and str(tmp_path / 'fake') in few[0] and '6 images' in few[0]
