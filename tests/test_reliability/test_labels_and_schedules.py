"""Scenarios 4d / 4e: out-of-range class labels and scale schedules the model cannot serve.

Both fail with a message naming the offending values before the backbone runs
(an out-of-range id would otherwise surface as an embedding index error, on
CUDA as a device-side assert that kills the process).
"""
import pytest
import torch
from mmengine.config import Config
from reliability_runs import ITER_CONFIG

from sar_mm.registry import MODELS

NUM_CLASSES = 10  # the tiny config's backbone


def _model(**options) -> torch.nn.Module:
    """The tiny SAR generator; ``options`` as for ``Config.merge_from_dict`` below ``model``."""
    cfg = Config.fromfile(ITER_CONFIG)
    cfg.merge_from_dict({f'model.{key}': value for key, value in options.items()})
    return MODELS.build(cfg.model)


def _images(size: int = 24, batch: int = 2) -> torch.Tensor:
    return torch.rand(batch, 3, size, size) * 2 - 1


@pytest.mark.parametrize('bad', [NUM_CLASSES, NUM_CLASSES + 5, -1])
def test_training_label_out_of_range(bad):
    model = _model()
    with pytest.raises(ValueError, match=rf'class labels \[{bad}\] are outside \[0, '
                                         rf'{NUM_CLASSES - 1}\]: the backbone has {NUM_CLASSES} '
                                         'classes'):
        model.loss(_images(), dict(labels=torch.tensor([3, bad])))


def test_sampling_label_out_of_range():
    model = _model()
    with pytest.raises(ValueError, match=rf'class labels \[{NUM_CLASSES + 1}\] are outside '
                                         rf'\[0, {NUM_CLASSES}\]'):
        model.generate(torch.tensor([1, NUM_CLASSES + 1]), seeds=[0, 1])
    with pytest.raises(TypeError, match='class labels must be integers'):
        model.generate(torch.tensor([1.0]), seeds=[0])
    # the unconditional id is a valid sampling label
    out = model.generate(torch.tensor([NUM_CLASSES]), seeds=[0], patch_nums=(1, 2))
    assert out['images'].shape[0] == 1


def test_schedule_beyond_the_latent_of_the_images():
    """24 px images give a 6 x 6 latent (downsample 4); the schedule reaches 6."""
    model = _model()
    with pytest.raises(ValueError, match=r'the scale schedule reaches 6 but \(16, 16\) images '
                                         r'give a latent side of 4 \(downsample 4\)'):
        model.loss(_images(size=16), dict(labels=torch.tensor([1, 2])))


def test_schedule_beyond_the_position_grid_of_the_backbone():
    model = _model(**{'backbone.pos_grid_size': 4})
    # the step's random schedule ends at 5 or 6
    with pytest.raises(ValueError, match=r'scales \[[56, ]+\] of the schedule \[[0-9, ]+\] are '
                                         r'outside \[1, pos_grid_size=4\]'):
        model.loss(_images(), dict(labels=torch.tensor([1, 2])))
    with pytest.raises(ValueError, match=r'scales \[5, 6\] of the schedule \[1, 2, 5, 6\] are '
                                         r'outside \[1, pos_grid_size=4\]'):
        model.generate(torch.tensor([1]), seeds=[0], patch_nums=(1, 2, 5, 6))


def test_random_schedule_on_a_fixed_schedule_backbone():
    """VAR's learned position table serves its own schedule (or a prefix) only."""
    cfg = Config.fromfile(ITER_CONFIG)
    backbone = dict(type='VARTransformer', depth=1, num_classes=NUM_CLASSES, vocab_size=32,
                    cvae=4, patch_nums=(1, 2, 3, 4, 6))
    model = MODELS.build(dict(cfg.model, backbone=backbone))
    with pytest.raises(ValueError, match='VARTransformer has a learned position table for the '
                                         r'fixed schedule \[1, 2, 3, 4, 6\]'):
        for _ in range(20):  # the random schedule drops scales most of the time
            model.loss(_images(), dict(labels=torch.tensor([1, 2])))
