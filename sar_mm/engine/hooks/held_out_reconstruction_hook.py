"""Reconstruction quality per scale of a trained tokenizer on held-out images.

After training, the first ``num_images`` images of ``dataset`` (e.g. the
training set's generator with another seed) are tokenized and decoded through
the tokenizer's inference path (``img_to_idx`` / ``decode_idx``) on every scale
of ``patch_nums`` (``VQTokenizerTrainer.reconstruct_scales``: FlexVAR scales
decode alone and are compared with the area-resized image, VAR's cumulative
``f_hat`` after each scale with the full image). Per scale, the mean squared
error and the mean per-image PSNR, both with pixel values in [0, 1]
(``PSNR = 10 log10(1 / MSE)``), are written to ``work_dir/<out_file>`` as JSON,
logged, and sent to the visualizer as ``heldout/psnr_<pn>`` and
``heldout/mse_<pn>``.
"""
import json
import os.path as osp
from typing import Dict, List, Sequence

import torch
from mmengine.dataset import pseudo_collate
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log

from sar_mm.registry import DATASETS, HOOKS
from .tokenizer_training import tokenizer_trainer

__all__ = ['HeldOutReconstructionHook', 'per_image_mse']


def per_image_mse(rec: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image, pixel values mapped from [-1, 1] to [0, 1].

    Args:
        rec, target (Tensor): (B, 3, h, w) in [-1, 1].

    Returns:
        Tensor: (B,) float64.
    """
    diff = (rec.double() - target.double()) / 2
    return diff.pow(2).flatten(1).mean(dim=1)


@HOOKS.register_module()
class HeldOutReconstructionHook(Hook):
    """Per-scale MSE and PSNR of the trained tokenizer on held-out images.

    Args:
        dataset (dict): a ``DATASETS`` config (items as ``PackGeneratorInputs`` gives).
        patch_nums (sequence of int): scales to decode (VAR: ending at the latent side).
        num_images (int): the first images of ``dataset`` used.
        batch_size (int): images per forward pass.
        out_file (str): JSON file name under the work dir.
    """

    priority = 'LOW'

    def __init__(self, dataset: dict, patch_nums: Sequence[int], num_images: int = 512,
                 batch_size: int = 64, out_file: str = 'reconstruction.json') -> None:
        if num_images < 1 or batch_size < 1:
            raise ValueError(f'num_images and batch_size must be >= 1, got {num_images}, '
                             f'{batch_size}')
        self.dataset = dataset
        self.patch_nums = tuple(int(pn) for pn in patch_nums)
        self.num_images = num_images
        self.batch_size = batch_size
        self.out_file = out_file

    def evaluate(self, runner) -> Dict[str, List[float]]:
        """``patch_nums``, ``mse`` and ``psnr`` (one per scale) and ``num_images``."""
        model = tokenizer_trainer(runner, type(self).__name__)
        dataset = DATASETS.build(self.dataset)
        if len(dataset) < self.num_images:
            raise ValueError(f'{type(self).__name__}: the held-out dataset has {len(dataset)} '
                             f'images, fewer than num_images={self.num_images}')
        was_training = model.training
        model.eval()
        mse = [[] for _ in self.patch_nums]
        for start in range(0, self.num_images, self.batch_size):
            batch = pseudo_collate([dataset[i] for i in
                                    range(start, min(start + self.batch_size, self.num_images))])
            inputs = model.data_preprocessor(batch, False)['inputs']
            for k, (rec, target) in enumerate(model.reconstruct_scales(inputs, self.patch_nums)):
                mse[k].append(per_image_mse(rec, target).cpu())
        model.train(was_training)
        mse = [torch.cat(m) for m in mse]
        return dict(patch_nums=list(self.patch_nums), num_images=self.num_images,
                    mse=[float(m.mean()) for m in mse],
                    psnr=[float((-10 * m.clamp_min(1e-12).log10()).mean()) for m in mse])

    def after_train(self, runner) -> None:
        result = self.evaluate(runner)
        scalars = {}
        for pn, mse, psnr in zip(result['patch_nums'], result['mse'], result['psnr']):
            scalars[f'heldout/psnr_{pn}'] = psnr
            scalars[f'heldout/mse_{pn}'] = mse
        runner.visualizer.add_scalars(scalars, step=runner.iter)
        per_scale = ', '.join(f'{pn}: {p:.2f} dB'
                              for pn, p in zip(result['patch_nums'], result['psnr']))
        print_log(f'held-out reconstruction ({result["num_images"]} images), PSNR per scale: '
                  f'{per_scale}', logger='current')
        if is_main_process():
            with open(osp.join(runner.work_dir, self.out_file), 'w') as f:
                json.dump(result, f, indent=1)
