"""HeldOutReconstructionHook: per-scale MSE / PSNR of held-out images, after training."""
import json
import math
from types import SimpleNamespace

import pytest
import torch
from codebook_runs import FAMILIES, PATCH_NUMS, TOKENIZERS, scalars, shapes_dataset, train
from mmengine.dataset import pseudo_collate

from sar_mm.engine.hooks import HeldOutReconstructionHook
from sar_mm.models.generators import VQTokenizerTrainer
from sar_mm.registry import DATASETS
from sar_mm.utils.setup_env import register_all_modules


class _Visualizer:
    def __init__(self) -> None:
        self.logged = {}

    def add_scalars(self, scalars: dict, step: int) -> None:
        self.logged.update(scalars)


@pytest.mark.parametrize('family', FAMILIES)
def test_last_scale_matches_the_training_reconstruction(tmp_path, family):
    register_all_modules(init_default_scope=False)
    torch.manual_seed(0)
    model = VQTokenizerTrainer(tokenizer=TOKENIZERS[family])
    runner = SimpleNamespace(model=model, work_dir=str(tmp_path), iter=7,
                             visualizer=_Visualizer())
    dataset = shapes_dataset(5, seed=3)
    HeldOutReconstructionHook(dataset, PATCH_NUMS, num_images=5, batch_size=2).after_train(runner)
    result = json.loads((tmp_path / 'reconstruction.json').read_text())
    assert result['patch_nums'] == list(PATCH_NUMS) and result['num_images'] == 5
    assert runner.visualizer.logged == {
        **{f'heldout/psnr_{pn}': p for pn, p in zip(PATCH_NUMS, result['psnr'])},
        **{f'heldout/mse_{pn}': m for pn, m in zip(PATCH_NUMS, result['mse'])}}
    # the last scale through the straight-through training path, [-1, 1] -> [0, 1]
    images = model.data_preprocessor(
        pseudo_collate([DATASETS.build(dataset)[i] for i in range(5)]), False)['inputs']
    rec = model(images, mode='tensor').clamp(-1, 1)
    mse = ((rec - images) / 2).pow(2).flatten(1).mean(1)
    assert result['mse'][-1] == pytest.approx(mse.mean().item(), rel=1e-4)
    assert result['psnr'][-1] == pytest.approx(
        sum(-10 * math.log10(m) for m in mse.tolist()) / 5, abs=1e-3)
    assert all(m > 0 for m in result['mse']) and len(set(result['psnr'])) == 3


def test_too_few_held_out_images_raise(tmp_path):
    register_all_modules(init_default_scope=False)
    model = VQTokenizerTrainer(tokenizer=TOKENIZERS['flex'])
    runner = SimpleNamespace(model=model, work_dir=str(tmp_path), iter=0,
                             visualizer=_Visualizer())
    hook = HeldOutReconstructionHook(shapes_dataset(3), PATCH_NUMS, num_images=4)
    with pytest.raises(ValueError, match='has 3 images, fewer than num_images=4'):
        hook.after_train(runner)


@pytest.mark.parametrize('family', FAMILIES)
def test_written_with_the_run_and_the_same_after_resume(tmp_path, family):
    hooks = [dict(type='HeldOutReconstructionHook', dataset=shapes_dataset(4, seed=3),
                  patch_nums=PATCH_NUMS, num_images=4)]
    train(tmp_path / 'whole', family, hooks)
    train(tmp_path / 'resumed', family, hooks, resume_from=tmp_path / 'whole' / 'epoch_1.pth')
    whole = json.loads((tmp_path / 'whole' / 'reconstruction.json').read_text())
    assert whole == json.loads((tmp_path / 'resumed' / 'reconstruction.json').read_text())
    (row,) = [r for r in scalars(tmp_path / 'whole') if 'heldout/psnr_4' in r]
    assert row['heldout/psnr_4'] == pytest.approx(whole['psnr'][-1]) and row['step'] == 6
