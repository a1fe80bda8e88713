"""The shapes classifier as a torch-fidelity feature extractor (toy FID)."""
import numpy as np
import pytest
import torch
import torch_fidelity

from sar_mm.evaluation import FeatureExtractorWeightsNotFoundError, TorchFidelityMetric
from sar_mm.evaluation.feature_extractor import build_feature_extractor
from sar_mm.evaluation.shapes_feature_extractor import (SHAPES_EXTRACTOR,
                                                        export_shapes_classifier,
                                                        register_shapes_feature_extractor)
from sar_mm.models.classifiers import ShapesClassifier


class _Images(torch.utils.data.Dataset):
    """uint8 (3, H, W) items, torch-fidelity's input convention."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]


@pytest.fixture()
def classifier_file(tmp_path):
    torch.manual_seed(0)
    classifier = ShapesClassifier(num_classes=4, widths=(8, 16), feature_dim=6)
    path = export_shapes_classifier(classifier, str(tmp_path / 'classifier.pth'))
    return classifier.eval(), path


def _images(num: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (num, 3, 16, 16), generator=generator, dtype=torch.uint8)


def test_registered_extractor_returns_the_classifier_outputs(classifier_file):
    classifier, path = classifier_file
    assert register_shapes_feature_extractor() == SHAPES_EXTRACTOR
    assert register_shapes_feature_extractor() == SHAPES_EXTRACTOR  # idempotent
    assert torch.load(path, weights_only=True)['arch'] == dict(num_classes=4, widths=[8, 16],
                                                               feature_dim=6)
    extractor = build_feature_extractor(SHAPES_EXTRACTOR, ['logits', 'features'], path)
    images = _images(5, 0)
    logits, feats = extractor(images)
    ref_feats, ref_logits = classifier.features_and_logits(images.float() / 127.5 - 1)
    assert torch.allclose(feats, ref_feats, atol=1e-6)
    assert torch.allclose(logits, ref_logits, atol=1e-6)
    with pytest.raises(TypeError, match='uint8'):
        extractor(images.float())


def test_missing_or_foreign_weights_fail(tmp_path):
    register_shapes_feature_extractor()
    with pytest.raises(FeatureExtractorWeightsNotFoundError):
        build_feature_extractor(SHAPES_EXTRACTOR, ['features'], str(tmp_path / 'none.pth'))
    foreign = tmp_path / 'foreign.pth'
    torch.save(dict(state_dict={}), foreign)
    with pytest.raises(ValueError, match='export_shapes_classifier'):
        build_feature_extractor(SHAPES_EXTRACTOR, ['features'], str(foreign))


def test_metric_uses_it_and_matches_torch_fidelity(classifier_file, tmp_path):
    _, path = classifier_file
    name = register_shapes_feature_extractor()
    real, fake = _images(40, 1), _images(30, 2)
    reference = tmp_path / 'reference.npz'
    np.savez(reference, arr_0=real.permute(0, 2, 3, 1).numpy())
    metric = TorchFidelityMetric(fid=True, isc=False, prc=False, reference=str(reference),
                                 feature_extractor=name, feature_extractor_weights_path=path,
                                 device='cpu')
    fid = metric.compute_from_features(metric.extract_features(fake))
    expected = torch_fidelity.calculate_metrics(
        input1=_Images(fake), input2=_Images(real), fid=True, feature_extractor=name,
        feature_extractor_weights_path=path, cuda=False, verbose=False, cache=False,
        save_cpu_ram=True)
    assert fid['frechet_inception_distance'] == pytest.approx(
        expected['frechet_inception_distance'], rel=1e-5)
