"""Sample grids during training, written through the Runner's visualizer."""
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
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
    without gradients, and its training mode is restored.

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
                 name: str = 'sample_grid') -> None:
        if len(labels) == 0:
            raise ValueError('labels must not be empty')
        if seeds is not None and len(seeds) != len(labels):
            raise ValueError(f'got {len(seeds)} seeds for {len(labels)} labels')
        if interval < 0:
            raise ValueError(f'interval must be >= 0, got {interval}')
        self.labels = [int(label) for label in labels]
        self.seeds = ([int(seed) for seed in seeds] if seeds is not None else
                      [base_seed + i for i in range(len(labels))])
        self.interval = interval
        self.draw_after_train = after_train
        self.show_scales = show_scales
        self.nrow = nrow or len(self.labels)
        self.generate_kwargs = dict(generate_kwargs or {})
        self.name = name

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
        try:
            with torch.no_grad():
                out = model.generate(
                    torch.tensor(self.labels, dtype=torch.long),
                    seeds=self.seeds,
                    return_scale_images=self.show_scales,
                    **self.generate_kwargs)
        finally:
            model.train(was_training)
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
