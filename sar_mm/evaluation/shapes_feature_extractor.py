"""The synthetic-shapes classifier as a torch-fidelity feature extractor (toy FID).

Inception-v3 has never seen the synthetic shapes, and its weights cannot be
downloaded offline, so the toy pipeline scores samples with a small classifier
trained on the shapes (:class:`~sar_mm.models.classifiers.ShapesClassifier`):
its penultimate features (``'features'``) replace Inception's pool features for
FID / precision-recall, and its logits (``'logits'``) give the Inception-Score
analogue and the class accuracy of generated samples.

It is registered with torch-fidelity the way the library supports custom
extractors (subclass ``FeatureExtractorBase``, ``register_feature_extractor``),
so :class:`~sar_mm.evaluation.TorchFidelityMetric` uses it by name with
``feature_extractor_weights_path`` pointing at a file written by
:func:`export_shapes_classifier`. Numbers are comparable only between runs
that use the same classifier file.
"""
import os.path as osp
from typing import Optional, Sequence

import torch
from torch_fidelity import FeatureExtractorBase, register_feature_extractor
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

from sar_mm.models.classifiers import ShapesClassifier
from sar_mm.models.data_preprocessors import to_symmetric_range
from .feature_extractor import FeatureExtractorWeightsNotFoundError

__all__ = ['SHAPES_EXTRACTOR', 'ShapesClassifierFeatureExtractor', 'export_shapes_classifier',
           'register_shapes_feature_extractor']

#: torch-fidelity name of the extractor.
SHAPES_EXTRACTOR = 'sar-mm-shapes-classifier'

#: constructor arguments of ShapesClassifier stored next to the weights.
_ARCH_KEYS = ('num_classes', 'widths', 'feature_dim')


def export_shapes_classifier(classifier: ShapesClassifier, out_path: str) -> str:
    """Write the classifier's weights and architecture as a tensors-only file.

    The file (``dict(state_dict=..., arch=dict(num_classes, widths,
    feature_dim))``) loads with ``torch.load(weights_only=True)``, unlike a
    training checkpoint with its message hub.

    Args:
        classifier (ShapesClassifier): trained model.
        out_path (str): destination ``.pth``.

    Returns:
        str: ``out_path``.
    """
    widths = [stage[0].out_channels for stage in classifier.stages]
    arch = dict(num_classes=classifier.num_classes, widths=widths,
                feature_dim=classifier.feature_dim)
    state_dict = {k: v.detach().cpu() for k, v in classifier.state_dict().items()}
    torch.save(dict(state_dict=state_dict, arch=arch), out_path)
    return out_path


class ShapesClassifierFeatureExtractor(FeatureExtractorBase):
    """torch-fidelity extractor over a trained :class:`ShapesClassifier`.

    Input: uint8 (B, 3, H, W) images (torch-fidelity's convention). Output: a
    tuple with, in the order of ``features_list``, ``'features'`` float32
    (B, feature_dim) and/or ``'logits'`` float32 (B, num_classes).

    Args:
        name (str): the registered name.
        features_list (sequence of str): requested outputs.
        feature_extractor_weights_path (str): a file written by
            :func:`export_shapes_classifier` (required: there is no default).
        **kwargs: torch-fidelity hands every extractor all of its own options
            (``verbose``, ``cuda``, ...); they do not concern this extractor and
            are ignored. This is the library's extractor protocol, which its
            built-in extractors follow as well.
    """

    def __init__(self, name: str, features_list: Sequence[str],
                 feature_extractor_weights_path: Optional[str] = None, **kwargs) -> None:
        super().__init__(name, features_list)
        path = feature_extractor_weights_path
        if path is None or not osp.isfile(path):
            raise FeatureExtractorWeightsNotFoundError(
                f'"{name}" needs `feature_extractor_weights_path`, a file written by '
                f'export_shapes_classifier (tools/run_toy.py trains and writes one); got {path}')
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)
        if set(checkpoint) != {'state_dict', 'arch'} or set(checkpoint['arch']) != set(_ARCH_KEYS):
            raise ValueError(f'{path} is not a file written by export_shapes_classifier '
                             f'(keys {sorted(checkpoint)})')
        arch = checkpoint['arch']
        self.classifier = ShapesClassifier(num_classes=int(arch['num_classes']),
                                           widths=tuple(int(w) for w in arch['widths']),
                                           feature_dim=int(arch['feature_dim']))
        self.classifier.load_state_dict(checkpoint['state_dict'], strict=True)

    def forward(self, x: torch.Tensor) -> tuple:
        """x (Tensor): uint8 (B, 3, H, W); returns the requested features."""
        if x.dtype != torch.uint8:
            raise TypeError(f'expected uint8 images, got {x.dtype}')
        feats, logits = self.classifier.features_and_logits(to_symmetric_range(x))
        out = dict(features=feats, logits=logits)
        return tuple(out[name] for name in self.features_list)

    @staticmethod
    def get_provided_features_list() -> tuple:
        return 'features', 'logits'

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        return dict(isc='logits', fid='features', kid='features', prc='features')[metric]

    @staticmethod
    def can_be_compiled() -> bool:
        return False

    @staticmethod
    def get_dummy_input_for_compile() -> torch.Tensor:
        return torch.zeros(1, 3, 32, 32, dtype=torch.uint8)


def register_shapes_feature_extractor() -> str:
    """Register :class:`ShapesClassifierFeatureExtractor` once (idempotent).

    Returns:
        str: its torch-fidelity name, :data:`SHAPES_EXTRACTOR`.
    """
    if SHAPES_EXTRACTOR not in FEATURE_EXTRACTORS_REGISTRY:
        register_feature_extractor(SHAPES_EXTRACTOR, ShapesClassifierFeatureExtractor)
    return SHAPES_EXTRACTOR
