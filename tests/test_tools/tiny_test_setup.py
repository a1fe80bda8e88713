"""A tiny generator config, checkpoint and reference folder for ``tools/test.py`` tests."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from mmengine.registry import DefaultScope
from PIL import Image
from script_loading import load_script

from sar_mm.registry import MODELS
from sar_mm.testing.tiny_feature_extractor import TINY_EXTRACTOR, random_images, write_png_folder

REPO_ROOT = Path(__file__).resolve().parents[2]
NUM_CLASSES, SAMPLES_PER_CLASS = 3, 3  # 9 samples: 2 ranks need one padded index
PATCH_NUMS = [1, 2, 4, 8]  # 16 px images

MODEL = dict(
    type='ScaleWiseAR',
    tokenizer=dict(type='FlexVQVAE', ch=32, z_channels=32, ch_mult=(1, 1), num_res_blocks=1,
                   vocab_size=64, embed_dim=8, usage_buffer_size=16),
    backbone=dict(type='FlexVARTransformer', depth=1, num_classes=10, vocab_size=64, cvae=8,
                  pos_grid_size=8),
    scale_schedule=dict(type='FixedScaleSchedule', patch_nums=PATCH_NUMS),
    test_cfg=dict(patch_nums=PATCH_NUMS, cfg=1.5, top_k=16, top_p=0.9))

CONFIG_TEMPLATE = '''
default_scope = 'sar_mm'
custom_imports = dict(imports=['sar_mm.testing.tiny_feature_extractor'],
                      allow_failed_imports=False)
model = {model!r}
test_dataloader = dict(
    batch_size=2,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ClassLabelDataset', num_classes={num_classes},
                 samples_per_class={samples_per_class}, base_seed=5))
test_evaluator = dict(
    type='TorchFidelityMetric',
    reference={reference!r},
    feature_extractor={extractor!r},
    device='cpu',
    isc_splits=2,
    prc_neighborhood=2)
test_cfg = dict(type='TestLoop')
env_cfg = dict(dist_cfg=dict(backend='gloo', timeout=120))
default_hooks = dict(logger=dict(type='LoggerHook', interval=1))
'''


def make_tiny_setup(root: Path) -> dict:
    """Write ``tiny.py`` (config), ``tiny.pth`` (plain state dict) and ``real/`` PNGs."""
    root.mkdir(parents=True, exist_ok=True)
    write_png_folder(root / 'real', random_images(8, seed=21))
    config = root / 'tiny.py'
    config.write_text(
        CONFIG_TEMPLATE.format(
            model=MODEL,
            num_classes=NUM_CLASSES,
            samples_per_class=SAMPLES_PER_CLASS,
            reference=str(root / 'real'),
            extractor=TINY_EXTRACTOR))
    torch.manual_seed(0)
    model = MODELS.build(MODEL)
    with torch.no_grad():  # make samples depend on labels and seeds
        for param in model.backbone.parameters():
            param.add_(torch.randn_like(param) * 0.2)
    checkpoint = root / 'tiny.pth'
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    return dict(config=str(config), checkpoint=str(checkpoint), num_samples=NUM_CLASSES *
                SAMPLES_PER_CLASS)


def load_test_tool():
    """``tools/test.py`` as a module."""
    return load_script(REPO_ROOT / 'tools' / 'test.py', 'sar_mm_test_tool')


def run_test_tool(setup: dict, work_dir: Path, *extra: str) -> dict:
    """Run ``tools/test.py`` in this process; returns its metrics."""
    DefaultScope._instance_dict.clear()  # each Runner starts from a clean default scope
    return load_test_tool().main(
        [setup['config'], setup['checkpoint'], '--work-dir', str(work_dir), *extra])


def run_test_tool_torchrun(setup: dict, work_dir: Path, *extra: str) -> None:
    """Run ``tools/test.py`` under ``torchrun --nproc_per_node 2`` (gloo on CPU)."""
    env = dict(os.environ)
    env['PYTHONPATH'] = str(REPO_ROOT)
    env['OMP_NUM_THREADS'] = '1'
    command = [
        sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
        str(REPO_ROOT / 'tools' / 'test.py'), setup['config'], setup['checkpoint'],
        '--launcher', 'pytorch', '--work-dir', str(work_dir), *extra
    ]
    done = subprocess.run(command, env=env, cwd=work_dir.parent, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def read_png(path) -> np.ndarray:
    """uint8 (H, W, 3)."""
    return np.asarray(Image.open(path).convert('RGB'))
