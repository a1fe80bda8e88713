"""SampleGridHook with a tiny ScaleWiseAR and a real visualizer (LocalVisBackend)."""
import itertools
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.visualization import Visualizer
from PIL import Image

import sar_mm.engine.hooks.sample_grid_hook as grid_module
import sar_mm.models  # noqa: F401  (registers the generator and its components)
from sar_mm.registry import HOOKS, MODELS

PATCH_NUMS = [1, 2, 4, 8]
LABELS = [3, 1]
SEEDS = [10, 11]
TILE = 16 + 2  # image side plus make_grid's padding
_names = itertools.count()


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    generator = MODELS.build(
        dict(
            type='ScaleWiseAR',
            tokenizer=dict(type='FlexVQVAE', ch=64, z_channels=32, ch_mult=(1, 1),
                           num_res_blocks=1, vocab_size=64, embed_dim=8, usage_buffer_size=16),
            backbone=dict(type='FlexVARTransformer', depth=1, num_classes=10, vocab_size=64,
                          cvae=8, pos_grid_size=8),
            scale_schedule=dict(type='FixedScaleSchedule', patch_nums=PATCH_NUMS),
            test_cfg=dict(patch_nums=PATCH_NUMS, cfg=1.5, top_k=16, top_p=0.9)))
    with torch.no_grad():  # make samples depend on labels and seeds
        for param in generator.backbone.parameters():
            param.add_(torch.randn_like(param) * 0.2)
    return generator


def make_runner(model, tmp_path, iteration: int = 0):
    visualizer = Visualizer(
        name=f'grid_test_{next(_names)}',
        vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path))
    return SimpleNamespace(model=model, visualizer=visualizer, iter=iteration)


def read_png(tmp_path, name: str) -> np.ndarray:
    files = list(tmp_path.rglob(name))
    assert len(files) == 1, f'{name}: {files}'
    return np.asarray(Image.open(files[0]).convert('RGB'))


def test_interval_and_after_train_write_grids(model, tmp_path):
    hook = HOOKS.build(dict(type='SampleGridHook', labels=LABELS, seeds=SEEDS, interval=2, nrow=1))
    runner = make_runner(model, tmp_path)
    for iteration in range(4):
        runner.iter = iteration
        hook.after_train_iter(runner, batch_idx=iteration)
    runner.iter = 5
    model.train()
    hook.after_train(runner)
    assert model.training  # mode restored
    pngs = sorted(p.name for p in tmp_path.rglob('*.png'))
    assert pngs == ['sample_grid_2.png', 'sample_grid_4.png', 'sample_grid_5.png']
    grid = read_png(tmp_path, 'sample_grid_2.png')
    # one column of two 16 px tiles with 2 px padding around and between them
    assert grid.shape == (2 * TILE + 2, TILE + 2, 3)
    # fixed labels and seeds: every grid shows the same samples
    assert np.array_equal(grid, read_png(tmp_path, 'sample_grid_5.png'))
    # the precision policy's choice ('auto'), as the hook draws by default
    images = model.generate(torch.tensor(LABELS), seeds=SEEDS, precision='auto')['images']
    for i in range(2):
        tile = grid[2 + i * TILE:2 + i * TILE + 16, 2:18]
        assert np.array_equal(tile, images[i].permute(1, 2, 0).numpy()), i
    assert not np.array_equal(images[0], images[1])


def test_scale_rows(model, tmp_path):
    hook = HOOKS.build(
        dict(type='SampleGridHook', labels=LABELS, seeds=SEEDS, interval=0, show_scales=True))
    grid = hook.draw(make_runner(model, tmp_path), step=5)
    assert grid.shape == (len(PATCH_NUMS) * TILE + 2, len(LABELS) * TILE + 2, 3)
    out = model.generate(torch.tensor(LABELS), seeds=SEEDS, return_scale_images=True,
                         precision='auto')
    # the last row holds the last scale, the final image
    top = 2 + (len(PATCH_NUMS) - 1) * TILE
    last = grid[top:top + 16, 2:18]
    assert np.array_equal(last, out['images'][0].permute(1, 2, 0).numpy())
    # the coarsest row differs from the final images
    first = grid[2:18, 2:18]
    assert not np.array_equal(first, last)
    assert np.array_equal(read_png(tmp_path, 'sample_grid_5.png'), grid)


def test_only_main_process_draws(model, tmp_path, monkeypatch):
    monkeypatch.setattr(grid_module, 'is_main_process', lambda: False)
    hook = HOOKS.build(dict(type='SampleGridHook', labels=LABELS, interval=1))
    assert hook.draw(make_runner(model, tmp_path), step=1) is None
    assert not list(tmp_path.rglob('*.png'))


def test_draws_in_batches_with_progress_in_the_chosen_precision(model, tmp_path, monkeypatch):
    """Three samples, two per call: two calls in the hook's precision, a line after each."""
    calls, lines = [], []
    generate = model.generate

    def spy(labels, **kwargs):
        calls.append((labels.tolist(), kwargs['seeds'], kwargs['precision']))
        return generate(labels, **kwargs)

    monkeypatch.setattr(model, 'generate', spy)
    monkeypatch.setattr(grid_module, 'print_log', lambda message, **kwargs: lines.append(message))
    hook = HOOKS.build(dict(type='SampleGridHook', labels=[3, 1, 4], seeds=[10, 11, 12],
                            interval=0, batch_size=2, precision='fp32', show_scales=True))
    grid = hook.draw(make_runner(model, tmp_path), step=7)
    assert calls == [([3, 1], [10, 11], 'fp32'), ([4], [12], 'fp32')]
    assert lines[0] == ('SampleGridHook: drawing 3 samples (a row per scale, precision fp32) '
                        'for sample_grid at iteration 7')
    assert [line.split(',')[0] for line in lines[1:]] == ['SampleGridHook: 2/3 samples',
                                                          'SampleGridHook: 3/3 samples']
    out = generate(torch.tensor([3, 1, 4]), seeds=[10, 11, 12], return_scale_images=True,
                   precision='fp32')
    assert np.array_equal(grid, hook.make_grid(out))


def test_invalid_arguments():
    with pytest.raises(ValueError, match='seeds'):
        HOOKS.build(dict(type='SampleGridHook', labels=[1, 2], seeds=[0]))
    with pytest.raises(ValueError, match='empty'):
        HOOKS.build(dict(type='SampleGridHook', labels=[]))
    with pytest.raises(ValueError, match='batch_size'):
        HOOKS.build(dict(type='SampleGridHook', labels=[1], batch_size=0))
    with pytest.raises(ValueError, match='SampleGridHook\\(precision=...\\)'):
        HOOKS.build(dict(type='SampleGridHook', labels=[1], generate_kwargs=dict(precision='fp32')))
