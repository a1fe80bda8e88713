"""A small CNN classifier of the synthetic shapes (``SyntheticShapesDataset``).

It plays Inception's part for the toy data, which Inception has never seen:
its penultimate features give a toy FID and its logits the class accuracy of
generated samples (:mod:`sar_mm.evaluation.shapes_feature_extractor` exposes
it to torch-fidelity). Four conv stages (3x3 conv, GroupNorm, SiLU; stride 2
from the second on), global average pooling, a linear projection to
``feature_dim`` features and a linear head.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel

from sar_mm.registry import MODELS
from ..data_preprocessors import build_data_preprocessor

__all__ = ['ShapesClassifier']


def _conv_stage(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1),
        nn.GroupNorm(8, out_channels), nn.SiLU())


@MODELS.register_module()
class ShapesClassifier(BaseModel):
    """CNN over (B, 3, H, W) images in [-1, 1]; any H, W (global pooling).

    Modes: ``'loss'`` returns ``loss_cls`` (cross-entropy) and the logged
    ``accuracy`` (percent); ``'predict'`` one dict per image with ``pred_label``,
    ``label`` (-1 when unknown) and ``scores`` (softmax, (num_classes,));
    ``'tensor'`` the logits (B, num_classes).

    Args:
        num_classes (int): 10 for the synthetic shapes.
        widths (sequence of int): channels of the conv stages (each divisible by 8).
        feature_dim (int): width of the penultimate features (the FID features).
        data_preprocessor (dict | nn.Module, optional): default
            ``GeneratorDataPreprocessor`` (uint8 images to [-1, 1]).
        init_cfg (dict, optional): MMEngine init config.
    """

    def __init__(self,
                 num_classes: int = 10,
                 widths: Sequence[int] = (32, 64, 96, 128),
                 feature_dim: int = 64,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=build_data_preprocessor(data_preprocessor),
                         init_cfg=init_cfg)
        self.num_classes = num_classes
        self.feature_dim = feature_dim
        channels = (3, ) + tuple(widths)
        self.stages = nn.Sequential(*[
            _conv_stage(channels[i], channels[i + 1], stride=1 if i == 0 else 2)
            for i in range(len(widths))
        ])
        self.neck = nn.Linear(widths[-1], feature_dim)
        self.head = nn.Linear(feature_dim, num_classes)

    def features_and_logits(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Penultimate features and logits.

        Args:
            inputs (Tensor): (B, 3, H, W) in [-1, 1].

        Returns:
            tuple: features (B, feature_dim) and logits (B, num_classes), float32.
        """
        h = self.stages(inputs).mean(dim=(2, 3))  # (B, widths[-1])
        feats = F.silu(self.neck(h))  # (B, feature_dim)
        return feats.float(), self.head(feats).float()

    def forward(self, inputs: torch.Tensor, data_samples: Optional[dict] = None,
                mode: str = 'tensor') -> Union[Dict[str, torch.Tensor], List[dict], torch.Tensor]:
        """Dispatch on ``mode``.

        Args:
            inputs (Tensor): (B, 3, H, W) in [-1, 1].
            data_samples (dict, optional): ``labels`` (B,) (required by ``'loss'``).
            mode (str): ``'loss'``, ``'predict'`` or ``'tensor'``.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.features_and_logits(inputs)[1]
        raise ValueError(f"invalid mode {mode!r}; expected 'loss', 'predict' or 'tensor'")

    def loss(self, inputs: torch.Tensor, data_samples: dict) -> Dict[str, torch.Tensor]:
        """Cross-entropy and accuracy of one batch.

        Args:
            inputs (Tensor): (B, 3, H, W) in [-1, 1].
            data_samples (dict): ``labels`` (B,) int64.
        """
        labels = data_samples['labels']
        logits = self.features_and_logits(inputs)[1]  # (B, num_classes)
        accuracy = (logits.argmax(dim=1) == labels).float().mean().detach() * 100
        return dict(loss_cls=F.cross_entropy(logits, labels), accuracy=accuracy)

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor, data_samples: Optional[dict] = None) -> List[dict]:
        """Predicted class of every image.

        Returns:
            list[dict]: ``pred_label`` (int), ``label`` (int, -1 when unknown),
            ``scores`` float32 (num_classes,) on the CPU.
        """
        scores = self.features_and_logits(inputs)[1].softmax(dim=1).cpu()  # (B, num_classes)
        labels = None if data_samples is None else data_samples.get('labels')
        return [dict(pred_label=int(scores[i].argmax()), scores=scores[i],
                     label=-1 if labels is None else int(labels[i]))
                for i in range(scores.shape[0])]
