"""Sample grids during training, written through the Runner's visualizer."""
import time
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from sar_mm.registry import HOOKS
from sar_mm.utils.image_grid import tile_samples

__all__ = ['SampleGridHook']


@HOOKS.register_module()
class SampleGridHook(Hook):
    """Generate a grid for fixed labels and seeds every ``interval`` iterations.

    The generator's ``generate(labels, seeds=..., return_scale_images=...,
    **generate_kwargs)`` draws one image per label, each from its own seed, so
    successive grids show the same samples as training progresses. The grid goes
    to ``runner.visualizer.add_image`` (``LocalVisBackend`` PNGs named
    ``{name}_{iter}.png``, TensorBoard images, ...). With ``show_scales`` the
    grid has one row per scale (each scale's decoded image, resized to the
    final resolution with nearest-neighbour), one column per sample; otherwise
    the final images are laid out ``nrow`` per row.

    Only the main process generates (the visualizer writes on rank 0 alone);
    the unwrapped model is called directly, outside DDP, in eval mode and
    without gradients, and its training mode is restored. Samples are drawn
    ``batch_size`` at a time, each from its own seed, and every batch logs
    its progress (samples done, seconds so far): a grid of a full-size model
    on a CPU takes minutes. They are drawn in ``precision``, by default the
    precision policy's choice for the device (:mod:`sar_mm.utils.precision`:
    bf16 on CPUs with native bf16, fp16 on CUDA, fp32 otherwise), not the
    model's exact fp32 ``test_cfg``.

    Args:
        labels: class ids of the grid's samples.
        seeds: one seed per label; default ``base_seed + [0, 1, ...]``.
        base_seed: see ``seeds``.
        interval: draw after every ``interval`` training iterations; 0 draws
            only at the end of training.
        after_train: also draw once after training.
        show_scales: one row per intermediate scale.
        nrow: images per row without ``show_scales``; default all in one row.
        generate_kwargs: overrides of the model's ``test_cfg`` for the grid
            (e.g. ``dict(cfg=4.0)``).
        name: image name for the visualizer.
        batch_size: samples per ``generate`` call, and per progress line.
        precision: ``'auto'`` or a dtype name, passed to ``generate``
            (``generate_kwargs`` must not set it too).
    """

    priority = 'LOW'

    def __init__(self,
                 labels: Sequence[int],
                 seeds: Optional[Sequence[int]] = None,
                 base_seed: int = 0,
                 interval: int = 1000,
                 after_train: bool = True,
                 show_scales: bool = False,
                 nrow: Optional[int] = None,
                 generate_kwargs: Optional[dict] = None,
                 name: str = 'sample_grid',
                 batch_size: int = 1,
                 precision: str = 'auto') -> None:
        if len(labels) == 0:
            raise ValueError('labels must not be empty')
        if seeds is not None and len(seeds) != len(labels):
            raise ValueError(f'got {len(seeds)} seeds for {len(labels)} labels')
        if interval < 0:
            raise ValueError(f'interval must be >= 0, got {interval}')
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        if 'precision' in (generate_kwargs or {}):
            raise ValueError('set the grid\'s precision with SampleGridHook(precision=...), '
                             'not in generate_kwargs')
        self.labels = [int(label) for label in labels]
        self.seeds = ([int(seed) for seed in seeds] if seeds is not None else
                      [base_seed + i for i in range(len(labels))])
        self.interval = interval
        self.draw_after_train = after_train
        self.show_scales = show_scales
        self.nrow = nrow or len(self.labels)
        self.generate_kwargs = dict(generate_kwargs or {})
        self.name = name
        self.batch_size = batch_size
        self.precision = precision

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.interval > 0 and self.every_n_train_iters(runner, self.interval):
            self.draw(runner, step=runner.iter + 1)

    def after_train(self, runner) -> None:
        if self.draw_after_train:
            self.draw(runner, step=runner.iter)

    def draw(self, runner, step: int) -> Optional[np.ndarray]:
        """Generate the grid and hand it to the visualizer.

        Returns:
            The grid, uint8 (H, W, 3) RGB, on the main process; None elsewhere.
        """
        if not is_main_process():
            return None
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        was_training = model.training
        model.eval()
        total, start, outs = len(self.labels), time.perf_counter(), []
        rows = '1 row' if not self.show_scales else 'a row per scale'
        print_log(f'{type(self).__name__}: drawing {total} samples ({rows}, precision '
                  f'{self.precision}) for {self.name} at iteration {step}', logger='current')
        try:
            with torch.no_grad():
                for first in range(0, total, self.batch_size):
                    last = min(first + self.batch_size, total)
                    outs.append(model.generate(
                        torch.tensor(self.labels[first:last], dtype=torch.long),
                        seeds=self.seeds[first:last],
                        return_scale_images=self.show_scales,
                        precision=self.precision,
                        **self.generate_kwargs))
                    print_log(f'{type(self).__name__}: {last}/{total} samples, '
                              f'{time.perf_counter() - start:.1f} s', logger='current')
        finally:
            model.train(was_training)
        out = dict(images=torch.cat([o['images'] for o in outs]))
        if self.show_scales:
            out['scale_images'] = [torch.cat(scale) for scale in
                                   zip(*(o['scale_images'] for o in outs))]
        grid = self.make_grid(out)
        runner.visualizer.add_image(self.name, grid, step=step)
        return grid

    def make_grid(self, out: dict) -> np.ndarray:
        """Lay out ``generate`` output as uint8 (H, W, 3).

        Args:
            out (dict): ``images`` uint8 (B, 3, H, W) and, with ``show_scales``,
                ``scale_images``: K tensors uint8 (B, 3, h_k, w_k).
        """
        scales = out['scale_images'] if self.show_scales else None
        return tile_samples(out['images'], scales, nrow=self.nrow)
