"""Timing of the model's own ``train_step``, optimizer update included."""
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Dict, Iterator, Optional, Sequence

import torch.nn as nn
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from sar_mm.models.rollouts import BaseRollout, StaggerScaleRollout, TeacherForcing
from sar_mm.models.utils.scale_schedule import FixedScaleSchedule
from sar_mm.utils.precision import Precision, resolve_precision
from .flop_count import TRAIN_FLOPS_MULTIPLIER, sar_step_flops, teacher_forcing_flops
from .measure import PeakMemory, matmul_flops_per_s, summarize_times, time_interleaved
from .model_dims import transformer_dims
from .phase_timing import PhaseTiming

__all__ = ['TrainRecipe', 'train_step_flops', 'time_train_steps']


@dataclass(frozen=True)
class TrainRecipe:
    """A rollout and the loss that reads its output (``ScaleWiseAR.rollout``, ``loss_module``)."""

    rollout: BaseRollout
    loss: nn.Module


@contextmanager
def _using(model: nn.Module, recipe: TrainRecipe) -> Iterator[None]:
    """``model`` trains with ``recipe`` inside the block; its own recipe is restored after."""
    saved = model.rollout, model.loss_module
    model.rollout, model.loss_module = recipe.rollout, recipe.loss
    try:
        yield
    finally:
        model.rollout, model.loss_module = saved


def train_step_flops(backbone: nn.Module, rollout: BaseRollout,
                     patch_nums: Sequence[int]) -> Optional[int]:
    """Analytic FLOPs of one training step per image, forward and backward.

    Teacher forcing: 3 passes' worth of one block-causal pass; SAR's
    stagger-scale rollout: :func:`~sar_mm.benchmarking.sar_step_flops` with the
    rollout's student scales, student context and unconditional pass. Other
    rollouts have no FLOP model (``None``).
    """
    dims = transformer_dims(backbone)
    if isinstance(rollout, StaggerScaleRollout):
        return sar_step_flops(dims, patch_nums, rollout.student_scales(len(patch_nums)),
                              rollout.sf_context, uncond_pass=rollout.rollout_cfg > 0)
    if isinstance(rollout, TeacherForcing):
        return TRAIN_FLOPS_MULTIPLIER * teacher_forcing_flops(dims, patch_nums)
    return None


def _precision(optim_wrapper: OptimWrapper, device_type: str) -> Precision:
    """The precision the wrapper's ``optim_context`` computes in."""
    if isinstance(optim_wrapper, AmpOptimWrapper):
        raise TypeError("MMEngine's AmpOptimWrapper does not state its precision; use "
                        'SkipNonFiniteAmpOptimWrapper')
    if hasattr(optim_wrapper, 'precision'):  # SkipNonFiniteAmpOptimWrapper
        return optim_wrapper.precision
    return resolve_precision('fp32', device_type)  # no autocast


def time_train_steps(model: nn.Module, optim_wrapper: OptimWrapper, data: dict,
                     recipes: Dict[str, TrainRecipe], iters: int, warmup: int,
                     peak_size: int = 4096) -> Dict[str, PhaseTiming]:
    """Time ``model.train_step(data, optim_wrapper)`` under each recipe, in alternating rounds.

    Each call is one whole training step as the training loop runs it: data
    preprocessing, the schedule, tokenisation of the images (or quantisation
    of cached latents), the recipe's rollout and loss, backward, clipping and
    the optimizer update, under the wrapper's autocast and loss scaling.
    Every recipe first runs ``max(warmup, 1)`` untimed steps (the peak memory
    is read over them; the first step allocates the optimizer state), then
    ``iters`` rounds run one timed step per recipe, so that a drift of the
    machine's speed touches every recipe alike (per-round ratios stay
    meaningful). The weights change at every step, as in training.

    Args:
        model (ScaleWiseAR): built, on its device, with a
            :class:`~sar_mm.models.utils.scale_schedule.FixedScaleSchedule`
            (every step does the same work, which the FLOP count assumes).
        optim_wrapper (OptimWrapper): built from the config's ``optim_wrapper``
            (``mmengine.optim.build_optim_wrapper``).
        data (dict): one batch as the data loader gives it: ``inputs`` uint8
            (B, 3, H, W) or ``None``, ``data_samples`` with ``labels`` (B,)
            and optionally ``latents`` (B, Cvae, h, w).
        recipes (dict): name -> :class:`TrainRecipe`; the model's own is
            ``TrainRecipe(model.rollout, model.loss_module)``.
        iters (int): timed rounds. warmup (int): untimed steps per recipe.
        peak_size (int): side of the matmul that measures the peak.

    Returns:
        dict: name -> :class:`PhaseTiming` (``items`` = B, ``flops`` per step
        for the batch, ``last_output`` the last step's log dict).
    """
    if not isinstance(model.scale_schedule, FixedScaleSchedule):
        raise ValueError('timing train_step needs a FixedScaleSchedule (the same work at every '
                         f'step), got {type(model.scale_schedule).__name__}')
    patch_nums = model.scale_schedule()
    device = next(model.backbone.parameters()).device
    precision = _precision(optim_wrapper, device.type)
    peak = matmul_flops_per_s(precision.dtype, device, peak_size)
    batch = len(data['data_samples']['labels'])
    logs = {}

    def step(name: str):
        def run() -> None:
            with _using(model, recipes[name]):
                logs[name] = model.train_step(data, optim_wrapper)
        return run

    steps = {name: step(name) for name in recipes}
    memory = {}
    model.train()
    for name, run in steps.items():
        with PeakMemory(device) as memory[name]:
            for _ in range(max(warmup, 1)):
                run()
    rounds = time_interleaved(steps, iters, device)
    results = {}
    for name, recipe in recipes.items():
        flops = train_step_flops(model.backbone, recipe.rollout, patch_nums)
        results[name] = PhaseTiming(time_s=summarize_times(rounds[name]), items=batch,
                                    flops=None if flops is None else batch * flops,
                                    precision=precision, matmul_peak=peak,
                                    peak_memory=memory[name], last_output=logs[name])
    return results
