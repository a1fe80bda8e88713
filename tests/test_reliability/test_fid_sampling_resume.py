"""Scenario 7: killed FID sampling resumes into ``--save-dir``, redoing and duplicating nothing.

The interrupted ``tools/test.py`` run is SIGKILLed by an injected ``os.replace``
at the moment it would publish sample 7: the PNG data of sample 7 is written
(under a temporary name) but never renamed. The rerun must generate exactly the
missing samples 7..19, leave samples 0..6 untouched, and produce the same
images as an uninterrupted sampler (each sample depends only on its label and
seed).
"""
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image
from reliability_runs import ITER_CONFIG, REPO, env

from sar_mm.evaluation import list_sample_indices
from sar_mm.registry import DATASETS, MODELS

NUM_CLASSES, PER_CLASS = 10, 2  # 20 samples
KILLED_AT = 7

CONFIG = f'''
_base_ = [{str(ITER_CONFIG)!r}]
test_dataloader = dict(
    batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ClassLabelDataset', num_classes={NUM_CLASSES},
                 samples_per_class={PER_CLASS}, base_seed=5))
test_cfg = dict(type='TestLoop')
'''

# tools/test.py with os.replace replaced: publishing sample KILLED_AT SIGKILLs the process
KILL_WHILE_PUBLISHING = f'''
import os, runpy, signal, sys
real_replace = os.replace
def replace(src, dst):
    if str(dst).endswith('{KILLED_AT:06d}.png'):
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(src, dst)
os.replace = replace
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


@pytest.fixture(scope='module')
def setup(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp('fid_resume')
    (root / 'sample.py').write_text(CONFIG)
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(ITER_CONFIG).model)
    with torch.no_grad():  # sharper logits: samples clearly depend on label and seed
        model.backbone.head.weight.mul_(50)
    torch.save(dict(state_dict=model.state_dict()), root / 'model.pth')
    return dict(config=root / 'sample.py', checkpoint=root / 'model.pth', model=model)


def _test_tool(setup: dict, work_dir: Path, *args: str, driver: str = None):
    cmd = ['tools/test.py', str(setup['config']), str(setup['checkpoint']),
           '--work-dir', str(work_dir), *args]
    cmd = [sys.executable, *(['-c', driver] if driver else []), *cmd]
    return subprocess.run(cmd, cwd=REPO, env=env(), capture_output=True, text=True, timeout=300)


def _png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert('RGB'))


def test_killed_sampling_resumes_without_redoing_or_duplicating(setup: dict, tmp_path: Path):
    save_dir = tmp_path / 'samples'
    killed = _test_tool(setup, tmp_path / 'work', '--save-dir', str(save_dir),
                        driver=KILL_WHILE_PUBLISHING)
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-2000:] + killed.stderr[-2000:]
    assert list_sample_indices(str(save_dir)) == list(range(KILLED_AT))
    leftovers = [p.name for p in save_dir.iterdir()
                 if not p.name.endswith('.png') and p.name != 'sar_mm_samples.json']
    assert len(leftovers) == 1 and leftovers[0].startswith(f'.{KILLED_AT:06d}.png.')  # the data
    finished = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in save_dir.glob('*.png')}

    resumed = _test_tool(setup, tmp_path / 'work', '--save-dir', str(save_dir),
                         '--save-npz', str(tmp_path / 'samples.npz'))
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    total = NUM_CLASSES * PER_CLASS
    assert (f'{KILLED_AT} of {total} samples already in {save_dir}; generating '
            f'{total - KILLED_AT}') in resumed.stdout + resumed.stderr
    assert list_sample_indices(str(save_dir)) == list(range(total))
    for name, identity in finished.items():  # written once, never again
        path = save_dir / name
        assert (path.stat().st_ino, path.stat().st_mtime_ns) == identity, name

    packed = np.load(tmp_path / 'samples.npz')['arr_0']
    assert packed.shape == (total, 24, 24, 3)
    for idx in range(total):
        assert np.array_equal(packed[idx], _png(save_dir / f'{idx:06d}.png'))
    assert len({packed[i].tobytes() for i in range(total)}) == total  # 20 distinct samples

    # what an uninterrupted sampler draws for a sample from before and after the kill
    dataset = DATASETS.build(dict(type='ClassLabelDataset', num_classes=NUM_CLASSES,
                                  samples_per_class=PER_CLASS, base_seed=5))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the tool's process
    try:
        for idx in (KILLED_AT - 1, KILLED_AT, total - 1):
            item = dataset[idx]['data_samples']
            image = setup['model'].generate(torch.tensor([item['labels']]),
                                            seeds=[item['seeds']])['images'][0]
            assert np.array_equal(image.permute(1, 2, 0).numpy(), packed[idx]), idx
    finally:
        torch.set_num_threads(threads)
