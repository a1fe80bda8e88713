"""High-level inference: build a generator from a config, load weights, sample images.

``init_generator`` builds :class:`~sar_mm.models.generators.ScaleWiseAR` from a
config file (or :class:`mmengine.config.Config`) and loads a checkpoint
strictly through :mod:`sar_mm.utils.checkpoint_io`: a converted release
(``tools/model_converters/*_to_sarmm.py``, ``dict(state_dict=..., meta=...)``),
a checkpoint written by ``tools/train.py`` or a plain state dict.
``sample_images`` draws class-conditional samples with
:meth:`ScaleWiseAR.generate` and returns uint8 channel-last images;
``image_grid`` lays them out for saving.
"""
import copy
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import print_log

from sar_mm.models.generators import ScaleWiseAR
from sar_mm.models.utils import SamplingConfig
from sar_mm.registry import MODELS
from sar_mm.utils.checkpoint_io import (checkpoint_state_dict, load_checkpoint_file,
                                        load_state_dict_checked)
from sar_mm.utils.image_grid import tile_samples
from sar_mm.utils.config_validation import check_cfg_options, check_runner_config
from sar_mm.utils.setup_env import register_all_modules
from .whole_numbers import as_label_tensor, as_seed_list

__all__ = ['load_generator_checkpoint', 'init_generator', 'sample_images', 'image_grid']

Images = Union[np.ndarray, torch.Tensor]


def load_generator_checkpoint(generator: nn.Module, checkpoint: str,
                              trust_checkpoint: bool = False) -> dict:
    """Load ``checkpoint`` into ``generator`` with every key and shape checked.

    Args:
        generator (nn.Module): the model (``ScaleWiseAR``: keys ``backbone.*``,
            ``tokenizer.*``).
        checkpoint (str): a converted release or training checkpoint (state dict
            under ``'state_dict'``), or a plain state dict.
        trust_checkpoint (bool): load with ``weights_only=False`` (needed for
            ``tools/train.py`` checkpoints; only for files you trust).

    Returns:
        dict: the checkpoint's ``meta`` (empty if it has none).

    Raises:
        FileNotFoundError, CheckpointReadError, CheckpointMismatchError: see
            :mod:`sar_mm.utils.checkpoint_io`; a mismatch names the missing and
            unexpected keys and the shape mismatches.
    """
    loaded = load_checkpoint_file(checkpoint, trust_checkpoint=trust_checkpoint)
    load_state_dict_checked(generator, checkpoint_state_dict(loaded, checkpoint), checkpoint,
                            'generator')
    return loaded.get('meta') or {}


def init_generator(config: Union[str, Path, Config],
                   checkpoint: Optional[str] = None,
                   device: Union[str, torch.device] = 'cpu',
                   cfg_options: Optional[dict] = None,
                   trust_checkpoint: bool = False) -> ScaleWiseAR:
    """Build the generator of a config and load its weights strictly.

    Args:
        config: config file path or :class:`Config` (its ``model`` is built; the
            config object is not modified).
        checkpoint (str, optional): weights (see :func:`load_generator_checkpoint`);
            ``None`` keeps the random initialisation, with a warning.
        device: where the generator runs.
        cfg_options (dict, optional): overrides merged into the config, e.g.
            ``{'model.test_cfg.cfg': 2.0}``.
        trust_checkpoint (bool): see :func:`load_generator_checkpoint`.

    Returns:
        ScaleWiseAR: in eval mode on ``device``; ``generator.cfg`` is the config.

    Raises:
        KeyError: an option whose first key the config lacks, an unknown
            ``type`` or an argument a component does not take.
        ValueError: a config whose model is not a generator, or an argument
            of the wrong type (``depth='abc'``).
    """
    if isinstance(config, (str, Path)):
        config = Config.fromfile(str(config))
    elif isinstance(config, Config):
        config = copy.deepcopy(config)
    else:
        raise TypeError(f'config must be a file path or a Config, got {type(config).__name__}')
    register_all_modules(init_default_scope=False)
    check_cfg_options(config, cfg_options, for_runner=False)
    if cfg_options:
        config.merge_from_dict(cfg_options)
    model_type = MODELS.get(config.get('model', {}).get('type', ''))
    if not (isinstance(model_type, type) and issubclass(model_type, ScaleWiseAR)):
        raise ValueError(f'the config {config.filename} builds model type '
                         f'{config.get("model", {}).get("type")!r}, not a generator '
                         '(ScaleWiseAR): give a generator config, e.g. configs/flexvar/*.py')
    check_runner_config(dict(model=config.model))
    generator = MODELS.build(config.model)
    if checkpoint is None:
        print_log('init_generator: no checkpoint given, the generator is randomly initialised '
                  '(untrained)', logger='current', level=30)
    else:
        load_generator_checkpoint(generator, checkpoint, trust_checkpoint)
    generator.cfg = config
    return generator.to(device).eval()


def init_demo_generator(config: Union[str, Path, Config], checkpoint: str, device: str = 'cpu',
                        cfg_options: Optional[dict] = None,
                        trust_checkpoint: bool = False) -> ScaleWiseAR:
    """:func:`init_generator` for the demos: ``checkpoint='none'`` builds the randomly
    initialised model and prints a banner to stderr saying that its images are meaningless
    (a pipeline check)."""
    random_init = checkpoint.lower() == 'none'
    generator = init_generator(config, None if random_init else checkpoint, device=device,
                               cfg_options=cfg_options, trust_checkpoint=trust_checkpoint)
    if random_init:
        # straight to stderr: a banner the user must see whatever the logger set-up
        print('#' * 78 + '\n# UNTRAINED MODEL: no checkpoint, the weights are random. The '
              'grid only shows\n# that the pipeline runs; the images are meaningless.\n' +
              '#' * 78, file=sys.stderr)
    return generator


def _channels_last(images: torch.Tensor, as_numpy: bool) -> Images:
    out = images.permute(0, 2, 3, 1).contiguous().cpu()  # (B, 3, H, W) -> (B, H, W, 3)
    return out.numpy() if as_numpy else out


def sample_images(generator: ScaleWiseAR,
                  labels: Union[int, Sequence[int], torch.Tensor],
                  seeds: Optional[Sequence[int]] = None,
                  seed: int = 0,
                  sampling: Optional[SamplingConfig] = None,
                  return_scale_images: bool = False,
                  as_numpy: bool = True,
                  **overrides) -> Union[Images, Tuple[Images, List[Images]]]:
    """Class-conditional samples as uint8 RGB images (``ScaleWiseAR.generate``).

    Settings come from the generator's ``sampling`` and ``numerics`` (its
    ``test_cfg``) or the ``sampling`` given, updated for this call with
    ``overrides``. With ``seeds``,
    sample ``i`` is drawn from its own generator seeded with ``seeds[i]`` (see
    ``ScaleWiseAR.generate``); otherwise the batch draws from one generator
    seeded with ``seed``. Either way the output is a deterministic function of
    the arguments and the weights.

    Args:
        generator (ScaleWiseAR): e.g. from :func:`init_generator`.
        labels: class ids in ``[0, num_classes]`` (``num_classes`` is the
            unconditional class).
        seeds: one seed per label, or ``None``.
        seed (int): the batch seed when ``seeds`` is ``None``.
        sampling (SamplingConfig, optional): the recipe instead of the
            generator's ``sampling``.
        return_scale_images (bool): also return every scale's decoded image.
        as_numpy (bool): NumPy arrays instead of CPU tensors.
        **overrides: ``test_cfg`` keys for this call, e.g. ``cfg=3.0``,
            ``top_k=1``, ``cfg_schedule='llamagen'``, ``precision='auto'``
            (see :class:`~sar_mm.models.utils.SamplingConfig` and
            :class:`~sar_mm.models.utils.SamplingNumerics`).

    Returns:
        uint8 (B, H, W, 3); with ``return_scale_images`` a tuple of it and a
        list with one uint8 (B, h_k, w_k, 3) per scale (the last is the image).

    Raises:
        ValueError: a label outside ``[0, num_classes]``, a label or seed that
            is not a whole number, a wrong number of seeds or a bad setting.
        KeyError: an override that is no ``test_cfg`` key.
    """
    device = next(generator.backbone.parameters()).device
    labels = as_label_tensor(labels)
    num_classes = generator.backbone.num_classes
    if labels.numel() == 0 or labels.min() < 0 or labels.max() > num_classes:
        raise ValueError(f'labels must be class ids in [0, {num_classes}] ({num_classes} = '
                         f'unconditional), got {labels.tolist()}')
    seeds = as_seed_list(seeds, labels.numel(), per='labels')
    rng = None if seeds is not None else torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        out = generator.generate(labels.to(device), seeds=seeds, generator=rng,
                                 sampling=sampling, return_scale_images=return_scale_images,
                                 **overrides)
    images = _channels_last(out['images'], as_numpy)
    if not return_scale_images:
        return images
    return images, [_channels_last(s, as_numpy) for s in out['scale_images']]


def image_grid(images: Images, scale_images: Optional[Sequence[Images]] = None,
               nrow: Optional[int] = None, padding: int = 2) -> np.ndarray:
    """Lay out samples (and optionally every scale of them) in one uint8 image.

    Args:
        images: uint8 (B, H, W, 3) final images.
        scale_images: uint8 (B, h_k, w_k, 3) per scale; when given, the grid has
            one row per scale (each resized to H x W, nearest neighbour), one
            column per sample.
        nrow (int, optional): images per row without ``scale_images``
            (default: all in one row).
        padding (int): white pixels between images.

    Returns:
        np.ndarray: uint8 (H', W', 3).
    """
    def chw(batch: Images) -> torch.Tensor:
        return torch.as_tensor(np.asarray(batch)).permute(0, 3, 1, 2)  # (B, 3, H, W)

    scales = None if scale_images is None else [chw(s) for s in scale_images]
    return tile_samples(chw(images), scales, nrow=nrow, padding=padding)
