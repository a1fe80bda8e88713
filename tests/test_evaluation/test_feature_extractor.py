"""Offline feature-extractor weights: resolution, the missing-file error, Inception parity."""
import pytest
import torch
import torch_fidelity
import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

from sar_mm.evaluation import (FeatureExtractorWeightsNotFoundError, TorchFidelityMetric,
                               build_feature_extractor, default_weights_path,
                               resolve_feature_extractor_weights)
from sar_mm.testing.tiny_feature_extractor import (random_images, register_tiny_extractor,
                                                   write_png_folder)

INCEPTION_FILE = 'weights-inception-2015-12-05-6726825d.pth'


@pytest.fixture
def empty_hub(tmp_path):
    """Point torch.hub (torch-fidelity's cache) at an empty folder."""
    previous = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / 'hub'))
    yield tmp_path / 'hub'
    torch.hub.set_dir(previous)


def test_missing_explicit_path_names_file_and_location(tmp_path, empty_hub):
    missing = tmp_path / 'nowhere' / 'inception.pth'
    with pytest.raises(FeatureExtractorWeightsNotFoundError) as info:
        resolve_feature_extractor_weights('inception-v3-compat', str(missing))
    message = str(info.value)
    assert str(missing) in message
    assert INCEPTION_FILE in message
    assert str(empty_hub / 'checkpoints' / INCEPTION_FILE) in message
    assert 'feature_extractor_weights_path' in message


def test_missing_cache_file_raises_before_sampling(empty_hub):
    with pytest.raises(FeatureExtractorWeightsNotFoundError, match=INCEPTION_FILE):
        TorchFidelityMetric(fid=False, prc=False)
    with pytest.raises(FeatureExtractorWeightsNotFoundError, match='vgg16-397923af.pth'):
        resolve_feature_extractor_weights('vgg16')
    with pytest.raises(FeatureExtractorWeightsNotFoundError,
                       match='feature_extractor_weights_path'):
        resolve_feature_extractor_weights('clip-vit-b-32')


def test_cache_file_is_found(empty_hub):
    cached = empty_hub / 'checkpoints' / INCEPTION_FILE
    cached.parent.mkdir(parents=True)
    torch.save({'conv.weight': torch.zeros(1)}, cached)  # tensors only: passes the trust check
    assert default_weights_path('inception-v3-compat') == str(cached)
    assert resolve_feature_extractor_weights('inception-v3-compat') == str(cached)


def test_custom_and_unknown_extractors(tmp_path):
    name = register_tiny_extractor()
    assert resolve_feature_extractor_weights(name) is None
    with pytest.raises(ValueError, match='not registered'):
        resolve_feature_extractor_weights('no-such-extractor')
    # an explicit file reaches the extractor
    weights = tmp_path / 'tiny.pth'
    state = build_feature_extractor(name, ['feat']).state_dict()
    state = {k: torch.zeros_like(v) for k, v in state.items()}
    torch.save(state, weights)
    loaded = build_feature_extractor(name, ['feat'], str(weights))
    assert all(float(p.abs().sum()) == 0 for p in loaded.parameters())


@pytest.fixture(scope='module')
def single_thread():
    """One intra-op thread: Inception at 299 px is far slower with busy-waiting
    OpenMP threads on a shared, oversubscribed CPU."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope='module')
def random_inception_weights(tmp_path_factory, single_thread):
    """A random-weight Inception state dict (torch-fidelity's download bypassed)."""
    patch = pytest.MonkeyPatch()
    patch.setattr(tf_inception, 'load_state_dict_from_url', lambda *args, **kwargs: None)
    patch.setattr(tf_inception.FeatureExtractorInceptionV3, 'load_state_dict',
                  lambda self, state_dict, strict=True: None)
    torch.manual_seed(0)
    model = tf_inception.FeatureExtractorInceptionV3('inception-v3-compat', ['2048'])
    patch.undo()
    # Calibrate BatchNorm on one batch so that random features vary between images
    # (with the default running statistics they collapse to nearly one vector).
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    model.train()
    with torch.no_grad():
        model(random_images(4, seed=5))
    path = tmp_path_factory.mktemp('inception') / INCEPTION_FILE
    torch.save(model.state_dict(), path)
    return path


def test_inception_default_layers(tmp_path):
    torch.save({'w': torch.zeros(1)}, tmp_path / 'w.pth')  # tensors only: passes the trust check
    metric = TorchFidelityMetric(fid=False, prc=False,
                                 feature_extractor_weights_path=str(tmp_path / 'w.pth'))
    assert metric.feature_layer == dict(isc='logits_unbiased')
    assert metric._extractor is None  # built on first use, not at construction


def test_inception_metric_matches_calculate_metrics(random_inception_weights, tmp_path):
    """3 vs 3 images through torch-fidelity's Inception with the same (random) weights.

    FID and precision/recall use the 64-d first pooling layer: the 2048-d default
    costs a 2048 x 2048 non-symmetric eigen-decomposition (~20 s on this CPU).
    """
    fake = random_images(3, seed=3)
    real = random_images(3, seed=4)
    write_png_folder(tmp_path / 'fake', fake)
    write_png_folder(tmp_path / 'real', real)
    expected = torch_fidelity.calculate_metrics(
        input1=str(tmp_path / 'fake'),
        input2=str(tmp_path / 'real'),
        cuda=False,
        fid=True,
        isc=True,
        prc=True,
        feature_extractor='inception-v3-compat',
        feature_extractor_weights_path=str(random_inception_weights),
        feature_layer_fid='64',
        feature_layer_prc='64',
        isc_splits=1,
        prc_neighborhood=2,
        cache=False,
        save_cpu_ram=True,
        verbose=False)
    metric = TorchFidelityMetric(
        reference=str(tmp_path / 'real'),
        feature_extractor_weights_path=str(random_inception_weights),
        feature_layer_fid='64',
        feature_layer_prc='64',
        device='cpu',
        isc_splits=1,
        prc_neighborhood=2)
    metric.process(None, [dict(fake_img=image, sample_idx=i) for i, image in enumerate(fake)])
    result = metric.evaluate(len(fake))
    assert metric.feature_layers == ['64', 'logits_unbiased']
    for key, value in expected.items():
        assert result[f'fidelity/{key}'] == pytest.approx(value, abs=1e-3), key
    # the comparison is not degenerate
    assert expected['frechet_inception_distance'] > 1e-2
    assert expected['inception_score_mean'] > 1 + 1e-3
