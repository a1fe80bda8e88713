"""tools/train.py and tools/dist_train.sh end to end on a tiny SAR config (CPU).

The config (``tests/data/configs/tiny_flexvar_sar.py``) post-trains a tiny
FlexVAR generator with the stagger-scale rollout (sampled CFG teacher tokens),
the contrastive student-forcing loss and a random per-step scale schedule, on
synthetic shapes with random flips: every random stream of a real run is used.
2 epochs x 2 iterations.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from script_loading import load_script

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'tests' / 'data' / 'configs' / 'tiny_flexvar_sar.py'


def _env(**extra: str) -> dict:
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(REPO), env.get('PYTHONPATH')]))
    env['OMP_NUM_THREADS'] = '1'
    env.update(extra)
    return env


def _run(cmd: list, timeout: int = 180, **env: str) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=REPO, env=_env(**env), capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, (result.stdout[-3000:] + result.stderr[-3000:])
    return result


def _train(work_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return _run([sys.executable, 'tools/train.py', str(CONFIG), '--work-dir', str(work_dir),
                 *args])


def _logged(work_dir: Path) -> dict:
    """iteration -> (loss, grad_norm) from every json scalar log of the work dir."""
    rows = {}
    for path in sorted(work_dir.glob('*/vis_data/scalars.json')):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            rows[row['iter']] = (row['loss'], row['grad_norm'])
    return rows


def _load(path: Path) -> dict:
    return torch.load(path, map_location='cpu', weights_only=False)  # written by this test


@pytest.fixture(scope='module')
def full_run(tmp_path_factory) -> Path:
    """Two uninterrupted epochs."""
    work_dir = tmp_path_factory.mktemp('full')
    _train(work_dir)
    return work_dir


@pytest.fixture(scope='module')
def interrupted_run(tmp_path_factory) -> Path:
    """The same run stopped after the first epoch."""
    work_dir = tmp_path_factory.mktemp('interrupted')
    _train(work_dir, '--cfg-options', 'train_cfg.max_epochs=1')
    return work_dir


def test_train_writes_checkpoints(full_run: Path):
    assert (full_run / 'epoch_1.pth').is_file() and (full_run / 'epoch_2.pth').is_file()
    assert (full_run / 'last_checkpoint').read_text().strip().endswith('epoch_2.pth')
    checkpoint = _load(full_run / 'epoch_2.pth')
    assert checkpoint['meta']['epoch'] == 2 and checkpoint['meta']['iter'] == 4
    assert any(key.startswith('backbone.') for key in checkpoint['state_dict'])
    states = checkpoint['rng_states']
    assert states['world_size'] == 1
    assert set(states['states'][0]['components']) == {'scale_schedule', 'rollout'}
    logged = _logged(full_run)
    assert sorted(logged) == [1, 2, 3, 4]
    assert all(torch.isfinite(torch.tensor(v)).all() for v in logged.values())


def test_resume_auto_repeats_the_uninterrupted_losses(full_run: Path, interrupted_run: Path):
    work_dir = interrupted_run.parent / 'resumed'
    shutil.copytree(interrupted_run, work_dir)
    _train(work_dir, '--resume', 'auto')
    full, resumed = _logged(full_run), _logged(work_dir)
    assert sorted(resumed) == [1, 2, 3, 4]
    # bit-identical: same CPU kernels, same thread count, every RNG restored
    assert [resumed[i] for i in (3, 4)] == [full[i] for i in (3, 4)]


def test_resume_without_rng_states_differs(full_run: Path, interrupted_run: Path):
    """Control: the same resume from a checkpoint stripped of its RNG states."""
    work_dir = interrupted_run.parent / 'stripped'
    work_dir.mkdir()
    checkpoint = _load(interrupted_run / 'epoch_1.pth')
    del checkpoint['rng_states']
    torch.save(checkpoint, work_dir / 'epoch_1.pth')
    _train(work_dir, '--resume', str(work_dir / 'epoch_1.pth'))
    full, resumed = _logged(full_run), _logged(work_dir)
    assert sorted(resumed) == [3, 4]
    assert [resumed[i] for i in (3, 4)] != [full[i] for i in (3, 4)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_dist_train_two_cpu_processes(tmp_path: Path):
    """torchrun with 2 processes on CPU (gloo): one epoch, a checkpoint from both ranks."""
    result = _run(['bash', 'tools/dist_train.sh', str(CONFIG), '2', '--work-dir', str(tmp_path),
                   '--cfg-options', 'train_cfg.max_epochs=1'],
                  PYTHON=sys.executable, PORT=str(_free_port()))
    assert "backend='gloo'" in result.stdout + result.stderr
    checkpoint = _load(tmp_path / 'epoch_1.pth')
    states = checkpoint['rng_states']
    assert states['world_size'] == 2
    # every rank draws its own schedules (seed * world_size + rank)
    schedules = [s['components']['scale_schedule'] for s in states['states']]
    assert schedules[0] != schedules[1]


@pytest.fixture
def fake_python(tmp_path: Path) -> Path:
    """A PYTHON that prints its arguments instead of starting torchrun."""
    path = tmp_path / 'fake_python'
    path.write_text('#!/usr/bin/env bash\necho "$@"\n')
    path.chmod(0o755)
    return path


@pytest.mark.parametrize('script,args', [('dist_train.sh', ['cfg.py']),
                                         ('dist_test.sh', ['cfg.py', 'ckpt.pth'])])
def test_dist_scripts_split_total_gpus_over_nodes(fake_python: Path, script, args):
    result = _run(['bash', f'tools/{script}', *args, '8', '--x'], PYTHON=str(fake_python),
                  NNODES='2', NODE_RANK='1', MASTER_ADDR='10.0.0.1', PORT='1234')
    out = result.stdout
    assert '--nproc_per_node=4' in out and '--nnodes=2' in out and '--node_rank=1' in out
    assert '--master_addr=10.0.0.1' in out and '--master_port=1234' in out
    assert out.strip().endswith('--launcher pytorch --x')


@pytest.mark.parametrize('script,args', [('dist_train.sh', ['cfg.py']),
                                         ('dist_test.sh', ['cfg.py', 'ckpt.pth'])])
def test_dist_scripts_refuse_a_remainder(fake_python: Path, script, args):
    result = subprocess.run(['bash', f'tools/{script}', *args, '3'], cwd=REPO,
                            env=_env(PYTHON=str(fake_python), NNODES='2'),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert 'GPUS=3' in result.stderr and 'NNODES=2' in result.stderr
    assert result.stdout == ''  # nothing was launched


def _train_module():
    return load_script(REPO / 'tools' / 'train.py', 'sar_mm_tools_train')


def _args(**kwargs) -> SimpleNamespace:
    defaults = dict(config=str(CONFIG), work_dir=None, resume=None, amp=False,
                    auto_scale_lr=False, cfg_options=None, launcher='none')
    defaults.update(kwargs)
    return SimpleNamespace(**defaults)


def test_merge_args(tmp_path: Path):
    train = _train_module()
    cfg = train.merge_args(Config.fromfile(CONFIG), _args(amp=True))
    assert cfg.work_dir == os.path.join('./work_dirs', 'tiny_flexvar_sar')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'

    cfg = Config.fromfile(CONFIG)
    cfg.load_from = 'pretrained.pth'
    cfg = train.merge_args(cfg, _args(work_dir=str(tmp_path), resume='auto'))
    # nothing to resume yet: keep the initial weights
    assert cfg.resume is False and cfg.load_from == 'pretrained.pth'
    torch.save(dict(meta=dict(epoch=3, iter=6)), tmp_path / 'epoch_3.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    cfg = train.merge_args(cfg, _args(work_dir=str(tmp_path), resume='auto'))
    assert cfg.resume is True and cfg.load_from == str(tmp_path / 'epoch_3.pth')

    cfg = train.merge_args(Config.fromfile(CONFIG),
                           _args(resume='x.pth', auto_scale_lr=True,
                                 cfg_options={'train_cfg.max_epochs': 7}))
    assert cfg.resume is True and cfg.load_from == 'x.pth'
    assert cfg.auto_scale_lr.enable is True and cfg.train_cfg.max_epochs == 7
