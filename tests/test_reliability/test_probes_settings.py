"""Probes of the settings and inputs of train.py, the demos, extract_latents.py, the analysis
tools and ``python -m sar_mm``: misspelt settings, out-of-range numbers, requests that do nothing,
files that are not what they claim, output paths that are directories, mixed sizes and
empty inputs end in one line naming the input; legitimate inputs are handled."""
from pathlib import Path

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from probe_battery import REPO, Probe, _run_in_process, assert_probe

from sar_mm.registry import MODELS

CONFIGS = REPO / 'tests' / 'data' / 'configs'
TRAIN_CONFIG = CONFIGS / 'tiny_flexvar_sar.py'
SAMPLE_CONFIG = CONFIGS / 'tiny_flexvar_sample.py'
TOKENIZER_CONFIG = REPO / 'configs' / 'toy' / 'vqvae_tiny_shapes.py'
LATENT_CONFIG = REPO / 'configs' / 'toy' / 'flexvar_tiny_shapes_tf_pretrain.py'


def _nothing_started(tmp: Path) -> None:
    """An error probe of train.py wrote nothing: no log folder, no checkpoint."""
    work_dir = tmp / 'w'
    assert not work_dir.exists() or not any(work_dir.iterdir()), list(work_dir.iterdir())


def _train(*args):
    return lambda tmp: [TRAIN_CONFIG, '--work-dir', tmp / 'w', *args]


def _train_probe(id_, args, mentions):
    return Probe(id_, 'tools/train.py', _train(*args), mentions=mentions, check=_nothing_started)


def _image(tmp: Path, name: str, height: int, width: int) -> Path:
    rng = np.random.default_rng(height * 100 + width)
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    mmcv.imwrite(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), str(path))
    return path


def _not_an_image(tmp: Path) -> Path:
    path = tmp / 'photo.png'
    path.write_text('hello, not an image')
    return path


def _truncated(tmp: Path) -> Path:
    whole = _image(tmp, 'whole.png', 8, 8).read_bytes()
    path = tmp / 'cut.png'
    path.write_bytes(whole[:len(whole) // 2])
    return path


def _black_mask(tmp: Path) -> Path:
    path = tmp / 'black_mask.png'
    mmcv.imwrite(np.zeros((8, 16), dtype=np.uint8), str(path))
    return path


def _sample(*args):
    return lambda tmp: [SAMPLE_CONFIG, 'none', '--out', tmp / 'grid.png', *args]


def _edit(image, *args):
    return lambda tmp: [SAMPLE_CONFIG, 'none', image(tmp), '--label', '1',
                        '--out', tmp / 'edit.png', *args]


def _written(name: str):
    def check(tmp: Path) -> None:
        assert (tmp / name).is_file() and (tmp / name).stat().st_size > 0, name
    return check


def _nothing_written(tmp: Path) -> None:
    assert not (tmp / 'grid.png').exists() and not (tmp / 'edit.png').exists()


def _tokenizer_checkpoint(tmp: Path) -> Path:
    torch.manual_seed(0)
    path = tmp / 'tokenizer.pth'
    torch.save(dict(state_dict=MODELS.build(Config.fromfile(TOKENIZER_CONFIG).model).state_dict()),
               path)
    return path


def _folder_config(tmp: Path, sizes, empty_class: bool = False) -> Path:
    """A latent-extraction config whose source is an ImageNet-style class folder."""
    for i, (h, w) in enumerate(sizes):
        _image(tmp, f'images/class_{i % 2}/img_{i}.png', h, w)
    if empty_class:
        (tmp / 'images' / 'class_empty').mkdir()
    config = tmp / 'folder_latents.py'
    config.write_text(
        f"_base_ = ['{LATENT_CONFIG}']\n"
        "train_dataloader = dict(dataset=dict(source=dict(_delete_=True, type='ImageNetDataset', "
        f"data_prefix=dict(img_path='{tmp / 'images'}'), "
        "pipeline=[dict(type='LoadRGBImageFromFile'), dict(type='PackGeneratorInputs')])))\n")
    return config


def _extract(sizes, *args, empty_class=False):
    return lambda tmp: [_folder_config(tmp, sizes, empty_class), _tokenizer_checkpoint(tmp),
                        '--out', tmp / 'latents.npz', *args]


def _no_latents(tmp: Path) -> None:
    assert not (tmp / 'latents.npz').exists()


SIZE_32 = [(32, 32)] * 3

PROBES = [
    # tools/train.py: misspelt settings fail before anything is built or written
    _train_probe('train-unknown-cfg-option', ['--cfg-options', 'foo=1'], ("'foo'",)),
    _train_probe('train-misspelt-hook-argument',
                 ['--cfg-options', 'default_hooks.checkpoint.intervall=1'],
                 ('default_hooks.checkpoint.intervall', "did you mean 'interval'")),
    _train_probe('train-misspelt-optimizer-argument',
                 ['--cfg-options', 'optim_wrapper.optimizer.lrr=0.1'],
                 ('optim_wrapper.optimizer.lrr', "did you mean 'lr'")),
    _train_probe('train-misspelt-dataset-argument',
                 ['--cfg-options', 'train_dataloader.dataset.num_sample=3'],
                 ('train_dataloader.dataset.num_sample', "did you mean 'num_samples'")),
    _train_probe('train-misspelt-loop-argument', ['--cfg-options', 'train_cfg.max_epoch=3'],
                 ('train_cfg.max_epoch', "did you mean 'max_epochs'")),
    _train_probe('train-depth-not-a-number', ['--cfg-options', 'model.backbone.depth=abc'],
                 ('model.backbone.depth', "'abc'", 'whole number')),
    _train_probe('train-fractional-epochs', ['--cfg-options', 'train_cfg.max_epochs=1.5'],
                 ('train_cfg.max_epochs', '1.5', 'whole number')),
    _train_probe('train-world-size-0', ['--dry-run', '--world-size', '0'],
                 ('--world-size', '>= 1', 'got 0')),
    _train_probe('train-nnodes-fraction', ['--dry-run', '--nnodes', '1.5'], ('--nnodes', '1.5')),
    Probe('train-resume-directory', 'tools/train.py',
          lambda tmp: [TRAIN_CONFIG, '--work-dir', tmp / 'w', '--resume', tmp],
          mentions=('is a directory', 'checkpoint file', '--resume auto')),
    Probe('train-dry-run', 'tools/train.py', _train('--dry-run', '--world-size', '2'),
          expect='handled', check=_nothing_started),
    # demo/sample_demo.py
    Probe('sample-fractional-label', 'demo/sample_demo.py', _sample('--labels', '1.7'),
          mentions=('--labels', '1.7')),
    Probe('sample-schedule-repeats-a-scale', 'demo/sample_demo.py',
          _sample('--labels', '1', '--patch-nums', '1', '1', '2'),
          mentions=('[1, 1, 2]', 'strictly increasing'), check=_nothing_written),
    Probe('sample-schedule-decreases', 'demo/sample_demo.py',
          _sample('--labels', '1', '--patch-nums', '1', '4', '2'),
          mentions=('[1, 4, 2]', 'strictly increasing'), check=_nothing_written),
    Probe('sample-out-is-a-directory', 'demo/sample_demo.py',
          lambda tmp: [SAMPLE_CONFIG, 'none', '--labels', '1', '--out', tmp],
          mentions=('is a directory', 'grid.png')),
    Probe('sample-out-not-an-image-suffix', 'demo/sample_demo.py',
          lambda tmp: [SAMPLE_CONFIG, 'none', '--labels', '1', '--out', tmp / 'grid.txt'],
          mentions=('grid.txt', '.png')),
    Probe('sample-non-generator-config', 'demo/sample_demo.py',
          lambda tmp: [TOKENIZER_CONFIG, 'none', '--labels', '1', '--out', tmp / 'grid.png'],
          mentions=('vqvae_tiny_shapes.py', 'VQTokenizerTrainer', 'not a generator')),
    Probe('sample-depth-not-a-number', 'demo/sample_demo.py',
          _sample('--labels', '1', '--cfg-options', 'model.backbone.depth=abc'),
          mentions=('model.backbone.depth', "'abc'")),
    Probe('sample-unknown-cfg-option', 'demo/sample_demo.py',
          _sample('--labels', '1', '--cfg-options', 'modle.test_cfg.cfg=2'),
          mentions=("'modle'", "did you mean 'model'")),
    Probe('sample-too-many-images', 'demo/sample_demo.py',
          _sample('--labels', *['1'] * 300), mentions=('300 images', '256'),
          check=_nothing_written),
    Probe('sample-batch-size-0', 'demo/sample_demo.py',
          _sample('--labels', '1', '--batch-size', '0'), mentions=('--batch-size', 'got 0')),
    Probe('sample-missing-config', 'demo/sample_demo.py',
          lambda tmp: [tmp / 'no_such_config.py', 'none', '--out', tmp / 'grid.png'],
          mentions=('no_such_config.py', 'no such file')),
    Probe('sample-in-batches', 'demo/sample_demo.py',
          _sample('--labels', '1', '2', '3', '--batch-size', '2'), expect='handled',
          check=_written('grid.png')),
    # demo/edit_demo.py
    Probe('edit-not-an-image', 'demo/edit_demo.py',
          _edit(_not_an_image, '--mode', 'inpaint', '--box', '0,0,4,4'),
          mentions=('photo.png', 'cannot read image'), check=_nothing_written),
    Probe('edit-truncated-image', 'demo/edit_demo.py',
          _edit(_truncated, '--mode', 'inpaint', '--box', '0,0,4,4'),
          mentions=('cut.png', 'truncated'), check=_nothing_written),
    Probe('edit-all-black-mask', 'demo/edit_demo.py',
          lambda tmp: _edit(lambda t: _image(t, 'in.png', 8, 16), '--mode', 'inpaint',
                            '--mask', _black_mask(tmp))(tmp),
          mentions=('black_mask.png', 'all black', 'nothing would be regenerated'),
          check=_nothing_written),
    Probe('edit-box-cropped-away', 'demo/edit_demo.py',
          _edit(lambda t: _image(t, 'in.png', 8, 16), '--mode', 'inpaint', '--box', '0,0,3,8'),
          mentions=('--box (0, 0, 3, 8)', 'centre crop', 'nothing would be regenerated'),
          check=_nothing_written),
    Probe('edit-too-many-results', 'demo/edit_demo.py',
          _edit(lambda t: _image(t, 'in.png', 8, 8), '--mode', 'refine', '--keep-scales', '1',
                '--num', '300'), mentions=('--num', '300 images', '256'), check=_nothing_written),
    Probe('edit-out-is-a-directory', 'demo/edit_demo.py',
          lambda tmp: [SAMPLE_CONFIG, 'none', _image(tmp, 'in.png', 8, 8), '--label', '1',
                       '--mode', 'refine', '--keep-scales', '1', '--out', tmp],
          mentions=('is a directory',)),
    Probe('edit-in-batches', 'demo/edit_demo.py',
          _edit(lambda t: _image(t, 'in.png', 8, 16), '--mode', 'inpaint', '--box', '4,0,12,8',
                '--num', '3', '--batch-size', '2'),
          expect='handled', check=_written('edit.png')),
    # tools/extract_latents.py on an ImageNet-style class folder
    Probe('extract-mixed-sizes', 'tools/extract_latents.py',
          _extract([(32, 32), (32, 32), (32, 48)], '--batch-size', '2'),
          mentions=('img_2.png', '48x32', 'img_0.png', '32x32'), check=_no_latents),
    Probe('extract-empty-class-folder', 'tools/extract_latents.py',
          _extract(SIZE_32, empty_class=True), mentions=('class_empty', 'without images'),
          check=_no_latents),
    Probe('extract-batch-size-0', 'tools/extract_latents.py',
          _extract(SIZE_32, '--batch-size', '0'), mentions=('--batch-size', 'got 0')),
    Probe('extract-unknown-cfg-option', 'tools/extract_latents.py',
          _extract(SIZE_32, '--cfg-options', 'trian_dataloader.batch_size=2'),
          mentions=("'trian_dataloader'", "did you mean 'train_dataloader'"), check=_no_latents),
    Probe('extract-class-folder', 'tools/extract_latents.py', _extract(SIZE_32, '--no-hflip'),
          expect='handled', check=_written('latents.npz')),
    # tools/analysis_tools
    Probe('exposure-bias-missing-checkpoint', 'tools/analysis_tools/exposure_bias.py',
          lambda tmp: [TRAIN_CONFIG, tmp / 'gone.pth', '--out-dir', tmp / 'out'],
          mentions=('gone.pth', 'not found')),
    Probe('exposure-bias-unknown-cfg-option', 'tools/analysis_tools/exposure_bias.py',
          lambda tmp: [TRAIN_CONFIG, tmp / 'gone.pth', '--out-dir', tmp / 'out',
                       '--cfg-options', 'modle.backbone.depth=2'],
          mentions=("'modle'", "did you mean 'model'")),
    Probe('benchmark-missing-config', 'tools/analysis_tools/benchmark.py',
          lambda tmp: [tmp / 'no_such_config.py'], mentions=('no_such_config.py', 'no such file')),
    # python -m sar_mm
    Probe('module-unknown-tool', 'sar_mm/__main__.py', lambda tmp: ['trian', '--help'],
          mentions=("no tool 'trian'", 'train')),
    Probe('module-runs-a-listed-demo', 'sar_mm/__main__.py',
          lambda tmp: ['demo/sample_demo', SAMPLE_CONFIG, 'none', '--labels', '1',
                       '--out', tmp / 'grid.png'],
          expect='handled', check=_written('grid.png')),
]


@pytest.mark.parametrize('probe', PROBES, ids=lambda p: p.id)
def test_probe(probe, tmp_path):
    assert_probe(probe, tmp_path)


def test_debug_shows_the_traceback(tmp_path):
    """``--debug``: the same user error, raised with its traceback (not a battery probe)."""
    code, output = _run_in_process(REPO / 'tools' / 'train.py',
                                   [str(a) for a in _train('--cfg-options', 'foo=1', '--debug')(
                                       tmp_path)])
    assert code == 1
    assert 'Traceback (most recent call last)' in output
    assert "KeyError: \"--cfg-options foo: the config has no key 'foo'" in output
