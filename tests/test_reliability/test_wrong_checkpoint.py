"""Scenario 4c: a checkpoint of the wrong model family or depth is refused with its keys named.

``load_from`` goes through the Runner (MMEngine would load it non-strictly and
train on with partly random weights); the converters get the official files of
the other family.
"""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from reliability_runs import ITER_CONFIG, REPO, in_process_runner
from script_loading import load_script

from sar_mm.models.converters.var import convert_var_checkpoints
from sar_mm.registry import MODELS
from sar_mm.utils import ConversionError
from sar_mm.utils.checkpoint_io import read_state_dict


def _runner(work_dir: Path, load_from: Path) -> Runner:
    cfg = Config.fromfile(ITER_CONFIG)
    cfg.load_from = str(load_from)
    cfg.train_dataloader.num_workers = 0
    return in_process_runner(cfg, work_dir)


def _save(state_dict: dict, path: Path) -> Path:
    torch.save(dict(state_dict=state_dict), path)  # a plain, weights-only checkpoint
    return path


def _train_refused(runner: Runner) -> str:
    with pytest.raises(ValueError) as error:
        runner.train()
    assert runner.iter == 0  # refused before the first step
    assert not list(Path(runner.work_dir).glob('*.pth'))
    return str(error.value)


def test_deeper_model_is_refused(tmp_path: Path):
    cfg = Config.fromfile(ITER_CONFIG)
    cfg.model.backbone.depth = 2  # the run's model has depth 1
    path = _save(MODELS.build(cfg.model).state_dict(), tmp_path / 'depth2.pth')
    message = _train_refused(_runner(tmp_path / 'work', path))
    assert f'{path} does not fit ScaleWiseAR' in message
    assert 'unexpected keys: backbone.blocks.1.' in message
    # width follows depth (64 x depth): every backbone matrix has the wrong shape
    assert 'backbone.word_embed.bias: checkpoint (128,) vs model (64,)' in message


def test_other_family_is_refused(tmp_path: Path, reference_dir: Path):
    """A converted VAR checkpoint given to a FlexVAR run."""
    ref = torch.load(reference_dir / 'var_small.pt', map_location='cpu', weights_only=True)
    converted = convert_var_checkpoints(ref['var_state_dict'], ref['vqvae_state_dict'],
                                        patch_nums=ref['patch_nums'])
    path = _save(converted['state_dict'], tmp_path / 'var_small_sarmm.pth')
    message = _train_refused(_runner(tmp_path / 'work', path))
    assert 'missing keys: tokenizer.decoder.' in message  # the VQ-16 tokenizer's layers
    assert 'unexpected keys: backbone.blocks.1.' in message  # VAR depth 2
    # VAR's position table (1, L = 1 + 4 + 9 + 16, 128) vs FlexVAR's grid (1, 64, 6, 6)
    assert 'backbone.pos_1LC: checkpoint (1, 30, 128) vs model (1, 64, 6, 6)' in message


def test_matching_checkpoint_loads(tmp_path: Path):
    """Control: the same path with the run's own architecture trains."""
    cfg = Config.fromfile(ITER_CONFIG)
    model = MODELS.build(cfg.model)
    torch.nn.init.constant_(model.backbone.head.bias, 0.25)
    path = _save(model.state_dict(), tmp_path / 'same.pth')
    runner = _runner(tmp_path / 'work', path)
    runner.load_or_resume()
    assert torch.all(runner.model.backbone.head.bias == 0.25)


def test_converter_refuses_the_other_family(tmp_path: Path, reference_dir: Path):
    """The FlexVAR fixture's official files given to the VAR converter tool."""
    ref = torch.load(reference_dir / 'flexvar_small.pt', map_location='cpu', weights_only=True)
    vae = torch.load(reference_dir / 'flexvae_small.pt', map_location='cpu', weights_only=True)
    transformer, tokenizer = tmp_path / 'flexvar.pth', tmp_path / 'flexvae.pth'
    torch.save(ref['state_dict'], transformer)
    torch.save(vae['state_dict'], tokenizer)
    tool = load_script(REPO / 'tools' / 'model_converters' / 'var_to_sarmm.py', 'var_to_sarmm')
    out = tmp_path / 'out.pth'
    # FlexVQVAE's usage buffer has no counterpart in VAR's VQVAE
    with pytest.raises(ConversionError, match=r'matched by no conversion rule \(is this the '
                                              r'right checkpoint family\?\): '
                                              r'quantize.codebook_used'):
        convert_var_checkpoints(read_state_dict(transformer), read_state_dict(tokenizer),
                                patch_nums=(1, 2, 3, 4))
    argv = [str(transformer), str(tokenizer), str(out), '--patch-nums', '1', '2', '3', '4']
    assert tool.main(argv) == 1  # the tool reports the same error and writes nothing
    assert not out.exists()
