"""A tiny deterministic torch-fidelity feature extractor: a stand-in for Inception.

For fast metric tests and the GPU check's FID path, where no Inception weights
are downloaded. Importing this module registers it as ``sar-test-tiny``, so a
config selects it with
``custom_imports=dict(imports=['sar_mm.testing.tiny_feature_extractor'])``.
Registering is idempotent because torch-fidelity's registry refuses a name twice.
Its features check the metric's path; they measure nothing about images.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from torch_fidelity import FeatureExtractorBase, register_feature_extractor
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

TINY_EXTRACTOR = 'sar-test-tiny'


class TinyFeatureExtractor(FeatureExtractorBase):
    """8-d features (FID, PRC) and 10 logits (IS) of uint8 (B, 3, H, W) images.

    Weights are seeded at construction, or loaded from
    ``feature_extractor_weights_path`` when one is given.
    """

    def __init__(self, name: str, features_list: list,
                 feature_extractor_weights_path: Optional[str] = None, **kwargs) -> None:
        super().__init__(name, features_list)
        generator = torch.Generator().manual_seed(0)
        self.proj = nn.Linear(3 * 4 * 4, 8)
        self.head = nn.Linear(8, 10)
        with torch.no_grad():
            for param in self.parameters():
                param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
        if feature_extractor_weights_path is not None:
            self.load_state_dict(torch.load(feature_extractor_weights_path, weights_only=True))

    def forward(self, x: torch.Tensor) -> tuple:
        x = F.adaptive_avg_pool2d(x.float() / 255.0, 4).flatten(1)  # (B, 48)
        feat = torch.tanh(self.proj(x)) * 10  # (B, 8)
        out = dict(feat=feat, logits=self.head(feat))
        return tuple(out[name] for name in self.features_list)

    @staticmethod
    def get_provided_features_list() -> tuple:
        return 'feat', 'logits'

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        return dict(isc='logits', fid='feat', kid='feat', prc='feat')[metric]

    @staticmethod
    def can_be_compiled() -> bool:
        return False

    @staticmethod
    def get_dummy_input_for_compile() -> torch.Tensor:
        return torch.zeros(1, 3, 4, 4, dtype=torch.uint8)


def register_tiny_extractor() -> str:
    """Register :class:`TinyFeatureExtractor` once; return its name."""
    if TINY_EXTRACTOR not in FEATURE_EXTRACTORS_REGISTRY:
        register_feature_extractor(TINY_EXTRACTOR, TinyFeatureExtractor)
    return TINY_EXTRACTOR


def random_images(num: int, size: int = 16, seed: int = 0, shift: int = 0) -> torch.Tensor:
    """uint8 (num, 3, size, size) images with smooth structure, optionally brightened."""
    generator = torch.Generator().manual_seed(seed)
    low = torch.rand(num, 3, 4, 4, generator=generator) * 200  # (num, 3, 4, 4)
    images = F.interpolate(low, size=(size, size), mode='bilinear', align_corners=False)
    noise = torch.rand(num, 3, size, size, generator=generator) * 40
    return (images + noise + shift).clamp(0, 255).to(torch.uint8)


def write_png_folder(folder, images: torch.Tensor) -> None:
    """Write uint8 (N, 3, H, W) images as ``{i:06d}.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(folder / f'{i:06d}.png')


register_tiny_extractor()
