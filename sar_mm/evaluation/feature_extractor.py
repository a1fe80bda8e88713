"""Offline construction of torch-fidelity feature extractors.

torch-fidelity downloads its feature-extractor weights the first time they are
needed. sar_mm never lets it: the weights come from a path in the config
(``feature_extractor_weights_path``) or from the file torch-fidelity itself
would have cached (``$TORCH_HOME/hub/checkpoints/<file>``), and a missing file
fails with a message naming the file and where to put it.

torch-fidelity reads the Inception and VGG-16 weights with
``torch.load(weights_only=False)``, which can run code stored in the file.
sar_mm first loads such a file itself with ``weights_only=True``
(:func:`sar_mm.utils.checkpoint_io.load_checkpoint_file`): a file of tensors
passes, anything else is refused unless trusted (``trust=True``, the tools'
``--trust-checkpoint``, or a path given to ``trust_checkpoint_path``), and a
file that is no checkpoint at all is named as such before any work starts.

The default extractor ``inception-v3-compat`` is torch-fidelity's port of the
TF1 Inception graph used by the OpenAI (ADM) evaluator (docs/method.md §6.2).
"""
import os.path as osp
from typing import Dict, Optional, Sequence

import torch
import torch.hub
from torch_fidelity import (FeatureExtractorBase, FeatureExtractorCLIP, FeatureExtractorDinoV2,
                            FeatureExtractorInceptionV3, FeatureExtractorVGG16)
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY
from torch_fidelity.utils import create_feature_extractor

from sar_mm.utils.checkpoint_io import CheckpointReadError, load_checkpoint_file

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
# Built-in extractors whose weight file torch-fidelity unpickles (weights_only=False).
_UNPICKLED_WEIGHTS = (FeatureExtractorInceptionV3, FeatureExtractorVGG16)


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


def _missing_weights_message(feature_extractor: str, tried: str, flag: str) -> str:
    lines = [f'Weights of the feature extractor "{feature_extractor}" not found at {tried}.']
    if feature_extractor in WEIGHT_FILES:
        file_name, url = WEIGHT_FILES[feature_extractor]
        lines.append(
            f'It needs the file "{file_name}" (from {url}, fetched on a machine with internet '
            f'access; sar_mm never downloads at run time). Either pass its path as {flag}, '
            'or put it at '
            f'{default_weights_path(feature_extractor)} (torch-fidelity\'s cache, '
            '$TORCH_HOME/hub/checkpoints/).')
    else:
        lines.append(f'Pass the path of its weight file as {flag}.')
    return ' '.join(lines)


def _check_tensors_only(path: str, flag: str, trust: bool) -> None:
    """Load ``path`` as torch-fidelity will, but with ``weights_only=True`` unless trusted."""
    try:
        load_checkpoint_file(path, trust_checkpoint=trust, mmap=True)
    except CheckpointReadError as error:
        raise CheckpointReadError(f'feature-extractor weights ({flag}): {error}') from error


def resolve_feature_extractor_weights(feature_extractor: str,
                                      weights_path: Optional[str] = None,
                                      flag: str = '`feature_extractor_weights_path`',
                                      trust: bool = False) -> Optional[str]:
    """Find the local weight file of a torch-fidelity feature extractor.

    Rules, in order:

    1. an explicit ``weights_path`` must exist;
    2. ``inception-v3-compat`` and ``vgg16`` fall back to torch-fidelity's cache
       file (see :func:`default_weights_path`), which must exist;
    3. the downloading built-ins (``clip-*``, ``dinov2-*``) need rule 1;
    4. other registered (custom) extractors get ``None`` and load their own
       weights.

    The weight file of Inception and VGG-16 must then hold only tensors, unless
    trusted (see the module docstring).

    Args:
        feature_extractor: a name registered with
            ``torch_fidelity.register_feature_extractor``.
        weights_path: optional explicit path.
        flag: how the user gives the path, for messages (a tool's option, or
            the metric's ``feature_extractor_weights_path``).
        trust: accept a weight file that pickles Python objects.

    Returns:
        The path to hand to torch-fidelity, or None (custom extractors only).

    Raises:
        ValueError: the name is not registered.
        FeatureExtractorWeightsNotFoundError: no weight file where required.
        CheckpointReadError: the file is not a checkpoint, is damaged, or holds
            Python objects and is not trusted.
    """
    if feature_extractor not in FEATURE_EXTRACTORS_REGISTRY:
        raise ValueError(f'Feature extractor "{feature_extractor}" is not registered with '
                         f'torch-fidelity; registered: {sorted(FEATURE_EXTRACTORS_REGISTRY)}')
    resolved = weights_path if weights_path is not None else default_weights_path(
        feature_extractor)
    if resolved is None:
        if issubclass(FEATURE_EXTRACTORS_REGISTRY[feature_extractor], _EXPLICIT_PATH_ONLY):
            raise FeatureExtractorWeightsNotFoundError(
                _missing_weights_message(feature_extractor, '(no path given)', flag))
        return None
    if not osp.isfile(resolved):
        raise FeatureExtractorWeightsNotFoundError(
            _missing_weights_message(feature_extractor, resolved, flag))
    if issubclass(FEATURE_EXTRACTORS_REGISTRY[feature_extractor], _UNPICKLED_WEIGHTS):
        _check_tensors_only(resolved, flag, trust)
    return resolved


def build_feature_extractor(feature_extractor: str,
                            feature_layers: Sequence[str],
                            weights_path: Optional[str] = None,
                            device: str = 'cpu',
                            flag: str = '`feature_extractor_weights_path`',
                            trust: bool = False) -> FeatureExtractorBase:
    """Build a torch-fidelity feature extractor from local weights only.

    Args:
        feature_extractor: registered torch-fidelity name.
        feature_layers: the feature names to return, e.g. ``('2048',
            'logits_unbiased')`` for Inception (FID / IS layers).
        weights_path: optional explicit weight file (see
            :func:`resolve_feature_extractor_weights`).
        device: where the extractor runs.
        flag, trust: see :func:`resolve_feature_extractor_weights`.

    Returns:
        The extractor in eval mode without gradients. Called on uint8 images
        (B, 3, H, W) it returns one (B, D_layer) float tensor per layer, in the
        order of ``feature_layers``.
    """
    resolved = resolve_feature_extractor_weights(feature_extractor, weights_path, flag, trust)
    extractor = create_feature_extractor(
        feature_extractor,
        list(feature_layers),
        cuda=False,
        feature_extractor_weights_path=resolved,
        verbose=False)
    return extractor.to(torch.device(device))
