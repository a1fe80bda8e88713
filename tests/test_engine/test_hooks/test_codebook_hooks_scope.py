"""The codebook hooks apply to tokenizer training only: a generator's frozen tokenizer is
never measured, initialised or re-seeded by them."""
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from codebook_runs import PATCH_NUMS, shapes_dataset
from mmengine.config import Config

from sar_mm.engine.hooks import (CodebookInitHook, CodebookUsageHook, DeadCodeRestartHook,
                                 HeldOutReconstructionHook)
from sar_mm.registry import MODELS
from sar_mm.utils.setup_env import register_all_modules

CONFIGS = Path(__file__).resolve().parents[2] / 'data' / 'configs'


@pytest.mark.parametrize('config', ['tiny_flexvar_tf.py', 'tiny_var_sample.py'])
def test_a_generator_is_refused_and_its_tokenizer_untouched(config):
    register_all_modules(init_default_scope=False)
    generator = MODELS.build(Config.fromfile(str(CONFIGS / config)).model)
    before = {k: v.clone() for k, v in generator.tokenizer.state_dict().items()}
    runner = SimpleNamespace(model=generator, iter=0, work_dir='.', visualizer=None)
    batch = dict(inputs=list(torch.zeros(2, 3, 16, 16, dtype=torch.uint8)))
    calls = [lambda: CodebookUsageHook().before_train(runner),
             lambda: DeadCodeRestartHook().before_train(runner),
             lambda: CodebookInitHook().before_train_iter(runner, 0, batch),
             lambda: HeldOutReconstructionHook(shapes_dataset(2), PATCH_NUMS).after_train(runner)]
    for call in calls:
        with pytest.raises(TypeError, match='VQTokenizerTrainer'):
            call()
    for key, value in generator.tokenizer.state_dict().items():
        assert torch.equal(value, before[key]), key
