"""Offline construction of torch-fidelity feature extractors.

torch-fidelity downloads its feature-extractor weights the first time they are
needed. sar_mm never lets it: the weights come from a path in the config
(``feature_extractor_weights_path``) or from the file torch-fidelity itself
would have cached (``$TORCH_HOME/hub/checkpoints/<file>``), and a missing file
fails with a message naming the file and where to put it.

The default extractor ``inception-v3-compat`` is torch-fidelity's port of the
TF1 Inception graph used by the OpenAI (ADM) evaluator (docs/method.md §6.2).
"""
import os.path as osp
from typing import Dict, Optional, Sequence

import torch
import torch.hub
from torch_fidelity import FeatureExtractorBase, FeatureExtractorCLIP, FeatureExtractorDinoV2
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY
from torch_fidelity.utils import create_feature_extractor

__all__ = [
    'FeatureExtractorWeightsNotFoundError', 'WEIGHT_FILES', 'default_weights_path',
    'resolve_feature_extractor_weights', 'build_feature_extractor'
]

# Weight files torch-fidelity fetches for its built-in extractors: name -> (file, URL).
WEIGHT_FILES: Dict[str, tuple] = {
    'inception-v3-compat': (
        'weights-inception-2015-12-05-6726825d.pth',
        'https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/'
        'weights-inception-2015-12-05-6726825d.pth'),
    'vgg16': ('vgg16-397923af.pth', 'https://download.pytorch.org/models/vgg16-397923af.pth'),
}

# Built-in extractors whose weights live elsewhere (CLIP archives, torch.hub repos):
# they need an explicit ``feature_extractor_weights_path``.
_EXPLICIT_PATH_ONLY = (FeatureExtractorCLIP, FeatureExtractorDinoV2)


class FeatureExtractorWeightsNotFoundError(FileNotFoundError):
    """The weight file of a feature extractor is not on this machine."""


def default_weights_path(feature_extractor: str) -> Optional[str]:
    """Where torch-fidelity caches the weights of ``feature_extractor``.

    Returns:
        ``$TORCH_HOME/hub/checkpoints/<file>`` (``torch.hub.get_dir()``), or None
        when the extractor has no single known weight file.
    """
    if feature_extractor not in WEIGHT_FILES:
        return None
    return osp.join(torch.hub.get_dir(), 'checkpoints', WEIGHT_FILES[feature_extractor][0])


def _missing_weights_message(feature_extractor: str, tried: str) -> str:
    lines = [f'Weights of the feature extractor "{feature_extractor}" not found at {tried}.']
    if feature_extractor in WEIGHT_FILES:
        file_name, url = WEIGHT_FILES[feature_extractor]
        lines.append(
            f'It needs the file "{file_name}" (from {url}, fetched on a machine with internet '
            'access; sar_mm never downloads at run time). Either pass its path as '
            f'`feature_extractor_weights_path`, or put it at '
            f'{default_weights_path(feature_extractor)} (torch-fidelity\'s cache, '
            '$TORCH_HOME/hub/checkpoints/).')
    else:
        lines.append('Pass the path of its weight file as `feature_extractor_weights_path`.')
    return ' '.join(lines)


def resolve_feature_extractor_weights(feature_extractor: str,
                                      weights_path: Optional[str] = None) -> Optional[str]:
    """Find the local weight file of a torch-fidelity feature extractor.

    Rules, in order:

    1. an explicit ``weights_path`` must exist;
    2. ``inception-v3-compat`` and ``vgg16`` fall back to torch-fidelity's cache
       file (see :func:`default_weights_path`), which must exist;
    3. the downloading built-ins (``clip-*``, ``dinov2-*``) need rule 1;
    4. other registered (custom) extractors get ``None`` and load their own
       weights.

    Args:
        feature_extractor: a name registered with
            ``torch_fidelity.register_feature_extractor``.
        weights_path: optional explicit path.

    Returns:
        The path to hand to torch-fidelity, or None (custom extractors only).

    Raises:
        ValueError: the name is not registered.
        FeatureExtractorWeightsNotFoundError: no weight file where required.
    """
    if feature_extractor not in FEATURE_EXTRACTORS_REGISTRY:
        raise ValueError(f'Feature extractor "{feature_extractor}" is not registered with '
                         f'torch-fidelity; registered: {sorted(FEATURE_EXTRACTORS_REGISTRY)}')
    if weights_path is not None:
        if not osp.isfile(weights_path):
            raise FeatureExtractorWeightsNotFoundError(
                _missing_weights_message(feature_extractor, weights_path))
        return weights_path
    cached = default_weights_path(feature_extractor)
    if cached is not None:
        if not osp.isfile(cached):
            raise FeatureExtractorWeightsNotFoundError(
                _missing_weights_message(feature_extractor, cached))
        return cached
    if issubclass(FEATURE_EXTRACTORS_REGISTRY[feature_extractor], _EXPLICIT_PATH_ONLY):
        raise FeatureExtractorWeightsNotFoundError(
            _missing_weights_message(feature_extractor, '(no path given)'))
    return None


def build_feature_extractor(feature_extractor: str,
                            feature_layers: Sequence[str],
                            weights_path: Optional[str] = None,
                            device: str = 'cpu') -> FeatureExtractorBase:
    """Build a torch-fidelity feature extractor from local weights only.

    Args:
        feature_extractor: registered torch-fidelity name.
        feature_layers: the feature names to return, e.g. ``('2048',
            'logits_unbiased')`` for Inception (FID / IS layers).
        weights_path: optional explicit weight file (see
            :func:`resolve_feature_extractor_weights`).
        device: where the extractor runs.

    Returns:
        The extractor in eval mode without gradients. Called on uint8 images
        (B, 3, H, W) it returns one (B, D_layer) float tensor per layer, in the
        order of ``feature_layers``.
    """
    resolved = resolve_feature_extractor_weights(feature_extractor, weights_path)
    extractor = create_feature_extractor(
        feature_extractor,
        list(feature_layers),
        cuda=False,
        feature_extractor_weights_path=resolved,
        verbose=False)
    return extractor.to(torch.device(device))
