"""Tiny tokenizer-training runs of both families for the codebook-hook tests.

Two tokenizers on 8 px images (4 x 4 latents): a FlexVQVAE and VAR's
MultiScaleVQVAE with the residual schedule 1, 2, 4. A run has 3 iterations of
2 images per epoch, no random augmentation and no worker processes, and keeps a
checkpoint per epoch; ``resume_from`` continues another run's checkpoint in a
fresh Runner.
"""
import json
import uuid
from pathlib import Path
from typing import List, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from sar_mm.utils.checkpoint_io import trust_checkpoint_path
from sar_mm.utils.setup_env import register_all_modules

PATCH_NUMS = (1, 2, 4)
TOKENIZERS = dict(
    flex=dict(type='FlexVQVAE', ch=32, z_channels=32, ch_mult=(1, 2), num_res_blocks=1,
              vocab_size=64, embed_dim=4, usage_buffer_size=8),
    var=dict(type='MultiScaleVQVAE', ch=32, z_channels=8, vocab_size=64, ch_mult=(1, 1),
             num_res_blocks=1, patch_nums=PATCH_NUMS),
)
FAMILIES = tuple(TOKENIZERS)


def shapes_dataset(num_samples: int, seed: int = 0) -> dict:
    return dict(type='SyntheticShapesDataset', num_samples=num_samples, image_size=8, seed=seed,
                pipeline=[dict(type='PackGeneratorInputs')])


def train(work_dir: Path, family: str, hooks: Sequence[dict], max_epochs: int = 2,
          resume_from: Optional[Path] = None) -> Runner:
    """Train the tiny ``family`` tokenizer with ``hooks`` into ``work_dir``."""
    cfg = Config(dict(
        default_scope='sar_mm',
        model=dict(type='VQTokenizerTrainer', tokenizer=TOKENIZERS[family]),
        train_dataloader=dict(batch_size=2, num_workers=0,
                              sampler=dict(type='DefaultSampler', shuffle=True),
                              collate_fn=dict(type='default_collate'),
                              dataset=shapes_dataset(6)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-2)),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1),
                           checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=True),
                           rng_state=dict(type='RNGStateHook')),
        custom_hooks=list(hooks),
        log_processor=dict(window_size=1),
        visualizer=dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')]),
        randomness=dict(seed=0),
        work_dir=str(work_dir),
        experiment_name=f'{work_dir.name}_{uuid.uuid4().hex}',
        resume=resume_from is not None,
        load_from=None if resume_from is None else str(resume_from),
    ))
    if resume_from is not None:
        trust_checkpoint_path(resume_from)  # written by this test
    register_all_modules(init_default_scope=False)
    DefaultScope._instance_dict.clear()  # the Runner sets up its own default scope
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def weights(checkpoint: Path) -> dict:
    return torch.load(checkpoint, map_location='cpu', weights_only=False)['state_dict']


def scalars(work_dir: Path) -> List[dict]:
    return [json.loads(line) for path in work_dir.glob('*/vis_data/scalars.json')
            for line in path.read_text().splitlines()]


def log_text(work_dir: Path) -> str:
    return '\n'.join(p.read_text() for p in work_dir.glob('*/*.log'))


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key
