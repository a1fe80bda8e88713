"""Batch preparation for scale-wise AR generators."""
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor

from sar_mm.registry import MODELS

__all__ = ['GeneratorDataPreprocessor', 'build_data_preprocessor', 'to_symmetric_range',
           'collate_data_samples']


def to_symmetric_range(images: torch.Tensor) -> torch.Tensor:
    """Map images to float32 in [-1, 1].

    Args:
        images (Tensor): (B, 3, H, W) uint8 in [0, 255], or floating point in [0, 1].

    Returns:
        Tensor: (B, 3, H, W) float32 in [-1, 1].
    """
    if images.dtype == torch.uint8:
        return images.float().div(127.5).sub(1.0)
    if not images.is_floating_point():
        raise TypeError(f'images must be uint8 or floating point, got {images.dtype}')
    return images.float().mul(2.0).sub(1.0)


def collate_data_samples(data_samples: Union[None, Mapping, Sequence]) -> Optional[Dict]:
    """Turn the collated ``data_samples`` into a dict of tensors.

    Accepts what ``default_collate`` gives (a dict of tensors), what
    ``pseudo_collate`` gives (a dict of lists), or a list of per-sample dicts.

    Returns:
        dict[str, Tensor] or None: e.g. ``labels`` (B,), ``seeds`` (B,),
        ``sample_idx`` (B,), all int64 for integer values.
    """
    if data_samples is None:
        return None
    if isinstance(data_samples, Mapping):
        columns = dict(data_samples)
    elif isinstance(data_samples, Sequence) and all(isinstance(d, Mapping) for d in data_samples):
        keys = data_samples[0].keys() if data_samples else ()
        columns = {k: [d[k] for d in data_samples] for k in keys}
    else:
        raise TypeError('data_samples must be a dict of values per key or a list of dicts, '
                        f'got {type(data_samples).__name__}')
    out = {}
    for key, value in columns.items():
        if isinstance(value, torch.Tensor):
            out[key] = value
        elif isinstance(value, Sequence) and value and isinstance(value[0], torch.Tensor):
            out[key] = torch.stack(list(value))
        else:
            out[key] = torch.as_tensor(value)
    return out


@MODELS.register_module()
class GeneratorDataPreprocessor(BaseDataPreprocessor):
    """Stack, move and normalise a batch for ``ScaleWiseAR``.

    Output: ``dict(inputs=float32 (B, 3, H, W) in [-1, 1] or None,
    data_samples=dict of tensors on the model's device)``. Class-label sampling
    batches have no ``inputs``.

    Args:
        non_blocking (bool): asynchronous host-to-device copies.
    """

    def __init__(self, non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)

    def forward(self, data: Mapping[str, Any], training: bool = False) -> Dict[str, Any]:
        inputs = data.get('inputs')
        if isinstance(inputs, Sequence):
            inputs = torch.stack(list(inputs)) if len(inputs) else None  # (B, 3, H, W)
        if inputs is not None:
            inputs = to_symmetric_range(self.cast_data(inputs))
        data_samples = collate_data_samples(data.get('data_samples'))
        if data_samples is not None:
            data_samples = self.cast_data(data_samples)
        return dict(inputs=inputs, data_samples=data_samples)


def build_data_preprocessor(
        cfg: Optional[Union[dict, BaseDataPreprocessor]]) -> BaseDataPreprocessor:
    """The data preprocessor of a sar_mm model: ``cfg`` built in sar_mm's ``MODELS``.

    ``None`` means ``GeneratorDataPreprocessor`` (images to [-1, 1]). Built
    here rather than by ``BaseModel``, whose root registry does not see
    sar_mm's types outside a Runner's default scope; a module is returned as is.
    """
    if cfg is None:
        cfg = dict(type='GeneratorDataPreprocessor')
    return MODELS.build(cfg) if isinstance(cfg, dict) else cfg
