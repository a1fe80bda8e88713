"""TorchFidelityMetric against torch-fidelity's own ``calculate_metrics``."""
import random

import numpy as np
import pytest
import torch
import torch_fidelity
from torch_fidelity.metric_fid import fid_features_to_statistics

from sar_mm.evaluation import TorchFidelityMetric, save_reference_statistics
from sar_mm.registry import METRICS
from sar_mm.testing.tiny_feature_extractor import (random_images, register_tiny_extractor,
                                                   write_png_folder)

KEYS = ('frechet_inception_distance', 'inception_score_mean', 'inception_score_std', 'precision',
        'recall', 'f_score')


@pytest.fixture(scope='module')
def folders(tmp_path_factory):
    register_tiny_extractor()
    root = tmp_path_factory.mktemp('fidelity')
    fake = random_images(24, seed=1)
    real = random_images(20, seed=2)
    write_png_folder(root / 'fake', fake)
    write_png_folder(root / 'real', real)
    return root, fake, real


def build_metric(reference, metrics=('fid', 'isc', 'prc')) -> TorchFidelityMetric:
    return METRICS.build(
        dict(
            type='TorchFidelityMetric',
            fid='fid' in metrics,
            isc='isc' in metrics,
            prc='prc' in metrics,
            reference=str(reference),
            feature_extractor=register_tiny_extractor(),
            device='cpu',
            isc_splits=2))


def feed(metric: TorchFidelityMetric, images: torch.Tensor, batch_size: int = 5,
         order=None) -> None:
    order = list(range(len(images))) if order is None else order
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        metric.process(None, [dict(fake_img=images[i], sample_idx=i, label=0) for i in batch])


def torch_fidelity_reference(fake_dir, real_dir) -> dict:
    return torch_fidelity.calculate_metrics(
        input1=str(fake_dir),
        input2=str(real_dir),
        cuda=False,
        fid=True,
        isc=True,
        prc=True,
        feature_extractor=register_tiny_extractor(),
        isc_splits=2,
        cache=False,
        save_cpu_ram=True,
        verbose=False)


def test_matches_calculate_metrics_on_folders(folders):
    root, fake, _ = folders
    expected = torch_fidelity_reference(root / 'fake', root / 'real')
    metric = build_metric(root / 'real')
    feed(metric, fake)
    result = metric.evaluate(len(fake))
    for key in KEYS:
        assert result[f'fidelity/{key}'] == pytest.approx(expected[key], abs=1e-3), key
    # the case is not degenerate
    assert expected['frechet_inception_distance'] > 1e-2
    assert 0 < expected['precision'] < 1 or 0 < expected['recall'] < 1


def test_reference_formats_agree(folders, tmp_path):
    """Folder, ADM ``arr_0`` npz and a statistics npz give the same numbers."""
    root, fake, real = folders
    from_folder = build_metric(root / 'real')
    feed(from_folder, fake)
    expected = from_folder.evaluate(len(fake))

    adm = tmp_path / 'adm.npz'
    np.savez(adm, arr_0=real.permute(0, 2, 3, 1).numpy())  # (N, H, W, 3)
    from_adm = build_metric(adm)
    feed(from_adm, fake)
    assert from_adm.evaluate(len(fake)) == pytest.approx(expected, abs=1e-6)

    real_feats = from_folder.reference_features()['feat']
    stats = fid_features_to_statistics(real_feats)
    stats_file = tmp_path / 'stats.npz'
    save_reference_statistics(str(stats_file), stats['mu'], stats['sigma'],
                              register_tiny_extractor(), 'feat', len(real))
    from_stats = build_metric(stats_file, metrics=('fid', ))
    feed(from_stats, fake)
    result = from_stats.evaluate(len(fake))
    assert result['fidelity/frechet_inception_distance'] == pytest.approx(
        expected['fidelity/frechet_inception_distance'], abs=1e-6)


def test_fid_self_is_zero_and_shift_is_large(folders, tmp_path):
    root, fake, _ = folders
    self_metric = build_metric(root / 'fake', metrics=('fid', ))
    feed(self_metric, fake)
    fid_self = self_metric.evaluate(len(fake))['fidelity/frechet_inception_distance']

    shifted_dir = tmp_path / 'shifted'
    write_png_folder(shifted_dir, (fake.int() + 60).clamp(0, 255).to(torch.uint8))
    shift_metric = build_metric(shifted_dir, metrics=('fid', ))
    feed(shift_metric, fake)
    fid_shift = shift_metric.evaluate(len(fake))['fidelity/frechet_inception_distance']
    assert abs(fid_self) < 1e-6
    assert fid_shift > 1.0


def test_padding_duplicates_and_order_are_removed(folders):
    """Per-sample results in any order, with repeated indices (sampler padding)."""
    root, fake, _ = folders
    clean = build_metric(root / 'real')
    feed(clean, fake)
    expected = clean.compute_metrics(list(clean.results))

    padded = build_metric(root / 'real')
    order = list(range(len(fake)))
    random.Random(0).shuffle(order)
    feed(padded, fake, batch_size=4, order=order + order[:3])  # 3 repeated indices
    assert len(padded.results) == len(fake) + 3
    assert padded.compute_metrics(list(padded.results)) == pytest.approx(expected, abs=1e-6)


def test_missing_samples_raise(folders):
    root, fake, _ = folders
    metric = build_metric(root / 'real')
    feed(metric, fake[:10])
    with pytest.raises(RuntimeError, match='distinct sample_idx'):
        metric.evaluate(12)


def test_invalid_configuration(folders, tmp_path):
    root, fake, _ = folders
    with pytest.raises(ValueError, match='reference'):
        TorchFidelityMetric(isc=False, prc=False, feature_extractor=register_tiny_extractor())
    with pytest.raises(ValueError, match='at least one'):
        TorchFidelityMetric(fid=False, isc=False, prc=False,
                            feature_extractor=register_tiny_extractor())
    stats_only = tmp_path / 'stats.npz'
    save_reference_statistics(str(stats_only), np.zeros(8), np.eye(8), 'inception-v3-compat',
                              '2048', 4)
    with pytest.raises(ValueError, match='reference images'):
        build_metric(stats_only, metrics=('prc', ))
    with pytest.raises(ValueError, match='inception-v3-compat'):  # before any sample is made
        build_metric(stats_only, metrics=('fid', ))
    float_images = build_metric(root / 'real')
    with pytest.raises(TypeError, match='uint8'):
        float_images.process(None, [dict(fake_img=fake[0].float(), sample_idx=0)])


def test_features_ignore_autocast(folders):
    """A fp16/bf16 val loop wraps process() in autocast; features stay float32-exact."""
    root, fake, _ = folders
    metric = build_metric(root / 'real')
    with torch.no_grad():
        expected = dict(zip(metric.feature_layers, metric.extractor(fake[:4])))  # float32
    with torch.autocast('cpu', dtype=torch.bfloat16):
        under_autocast = metric.extract_features(fake[:4])
    assert set(under_autocast) == set(expected)
    for layer, feat in expected.items():
        assert under_autocast[layer].dtype == torch.float32
        assert torch.equal(under_autocast[layer], feat), layer
