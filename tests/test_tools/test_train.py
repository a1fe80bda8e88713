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

from sar_mm.utils.checkpoint_io import trust_checkpoint_path

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


GLOBAL_8 = ['train_dataloader.batch_size=None', 'train_dataloader.global_batch_size=8',
            'train_cfg.max_epochs=1']


def _lrs(work_dir: Path) -> list:
    rows = []
    for path in sorted(work_dir.glob('*/vis_data/scalars.json')):
        rows += [json.loads(line) for line in path.read_text().splitlines()]
    return [(row['iter'], row['lr']) for row in rows if 'lr' in row]


def _dumped_batch_size(work_dir: Path) -> int:
    (dumped, ) = work_dir.glob('*/vis_data/config.py')
    return Config.fromfile(dumped).train_dataloader.batch_size


def test_dist_train_two_cpu_processes(tmp_path: Path):
    """torchrun with 2 processes on CPU (gloo): a global batch of 8 trains at 4 per rank,
    with the lr of a 1-process run of the same config (which trains at 8)."""
    two = tmp_path / 'two'
    result = _run(['bash', 'tools/dist_train.sh', str(CONFIG), '2', '--work-dir', str(two),
                   '--cfg-options', *GLOBAL_8],
                  PYTHON=sys.executable, PORT=str(_free_port()))
    out = result.stdout + result.stderr
    assert "backend='gloo'" in out
    summary = ('launch: 1 node(s) x 2 processes per node = world size 2, per-GPU batch 4, '
               'global batch 8')
    assert summary in result.stdout  # printed by the launcher before torchrun
    assert out.count(summary) == 2  # and logged once more, by rank 0 only
    checkpoint = _load(two / 'epoch_1.pth')
    states = checkpoint['rng_states']
    assert states['world_size'] == 2
    # every rank draws its own schedules (seed * world_size + rank)
    schedules = [s['components']['scale_schedule'] for s in states['states']]
    assert schedules[0] != schedules[1]
    assert _dumped_batch_size(two) == 4

    one = tmp_path / 'one'
    result = _train(one, '--cfg-options', *GLOBAL_8)
    assert ('world size 1, per-GPU batch 8, global batch 8'
            in result.stdout + result.stderr)
    assert _dumped_batch_size(one) == 8
    assert _lrs(one) and _lrs(one) == _lrs(two)


def test_dry_run_reports_the_official_split(monkeypatch, capsys):
    """The d16 SAR recipe keeps its global batch of 768 on 8 and on 32 GPUs."""
    train = _train_module()
    for world_size, per_gpu in ((8, 96), (32, 24)):
        monkeypatch.setattr(sys, 'argv', ['train.py', 'configs/sar/flexvar_d16_sar.py',
                                          '--dry-run', '--world-size', str(world_size),
                                          '--nnodes', str(world_size // 8)])
        train.main()
        out = capsys.readouterr().out
        assert (f'{world_size // 8} node(s) x 8 processes per node = world size {world_size}, '
                f'per-GPU batch {per_gpu}, global batch 768, base lr 0.0003') in out
    monkeypatch.setattr(sys, 'argv', ['train.py', 'configs/sar/flexvar_d16_sar.py',
                                      '--dry-run', '--world-size', '5'])
    with pytest.raises(ValueError, match='global batch 768 cannot be split over world size 5'):
        train.main()


@pytest.fixture
def fake_python(tmp_path: Path) -> Path:
    """A PYTHON that prints its arguments instead of starting torchrun."""
    path = tmp_path / 'fake_python'
    path.write_text('#!/usr/bin/env bash\necho "$@"\n')
    path.chmod(0o755)
    return path


def _node_with_gpus(tmp_path: Path, count: int) -> dict:
    """PATH with an ``nvidia-smi -L`` that lists ``count`` GPUs, no CUDA_VISIBLE_DEVICES."""
    bin_dir = tmp_path / 'gpu_bin'
    bin_dir.mkdir(exist_ok=True)
    smi = bin_dir / 'nvidia-smi'
    lines = ''.join(f'GPU {i}: NVIDIA H200 (UUID: GPU-{i})\\n' for i in range(count))
    smi.write_text(f'#!/usr/bin/env bash\nprintf "{lines}"\n')
    smi.chmod(0o755)
    env = _env(PATH=os.pathsep.join([str(bin_dir), os.environ['PATH']]))
    env.pop('CUDA_VISIBLE_DEVICES', None)
    return env


def _launch(env: dict, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(['bash', *args], cwd=REPO, env=dict(env, **extra),
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize('script,args', [('dist_train.sh', ['cfg.py']),
                                         ('dist_test.sh', ['cfg.py', 'ckpt.pth'])])
def test_dist_scripts_refuse_a_partial_node(tmp_path: Path, fake_python: Path, script, args):
    """NNODES=4 ... 8 (GPUs per node, OpenMMLab's habit) would start 2 processes per node."""
    env = _node_with_gpus(tmp_path, 8)
    result = _launch(env, f'tools/{script}', *args, '8', PYTHON=str(fake_python), NNODES='4')
    assert result.returncode != 0 and result.stdout == ''  # nothing started
    message = ' '.join(result.stderr.split())
    assert 'starts only 2 processes on this node, which has 8 visible GPUs' in message
    assert 'GPUS is the TOTAL number of processes over all nodes' in message
    assert 'pass GPUS=32' in message and 'ALLOW_PARTIAL_NODE=1' in message

    result = _launch(env, f'tools/{script}', *args, '8', PYTHON=str(fake_python), NNODES='4',
                     ALLOW_PARTIAL_NODE='1')
    assert result.returncode == 0 and '--nproc_per_node=2' in result.stdout
    result = _launch(env, f'tools/{script}', *args, '32', PYTHON=str(fake_python), NNODES='4')
    assert result.returncode == 0 and '--nproc_per_node=8' in result.stdout
    # CUDA_VISIBLE_DEVICES, when set, is what the node's processes can see
    result = _launch(env, f'tools/{script}', *args, '8', PYTHON=str(fake_python), NNODES='4',
                     CUDA_VISIBLE_DEVICES='0,1')
    assert result.returncode == 0 and '--nproc_per_node=2' in result.stdout
    result = _launch(env, f'tools/{script}', *args, '64', PYTHON=str(fake_python), NNODES='4')
    assert result.returncode != 0 and 'has 8 visible GPUs (one process per GPU)' in ' '.join(
        result.stderr.split())


def test_dist_train_prints_the_summary_before_torchrun(tmp_path: Path):
    """The official 4 x 8 launch, node 0: the summary line, then torchrun's command."""
    python = tmp_path / 'python_or_echo'  # real Python for the dry run, echo for torchrun
    python.write_text('#!/usr/bin/env bash\n'
                      'case " $* " in *" --dry-run "*) exec "%s" "$@";; esac\n'
                      'echo "$@"\n' % sys.executable)
    python.chmod(0o755)
    result = _launch(_node_with_gpus(tmp_path, 8), 'tools/dist_train.sh',
                     'configs/sar/flexvar_d16_sar.py', '32', PYTHON=str(python), NNODES='4')
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-2] == ('launch: 4 node(s) x 8 processes per node = world size 32, '
                         'per-GPU batch 24, global batch 768, base lr 0.0003')
    assert lines[-1].startswith('-m torch.distributed.run --nnodes=4')


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
    assert cfg.optim_wrapper.type == 'SkipNonFiniteAmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    mmengine_wrapper = Config.fromfile(CONFIG)
    mmengine_wrapper.optim_wrapper.type = 'OptimWrapper'
    with pytest.raises(ValueError, match='--amp needs SkipNonFiniteOptimWrapper or '
                       'SkipNonFiniteAmpOptimWrapper, the config uses OptimWrapper'):
        train.merge_args(mmengine_wrapper, _args(amp=True))

    cfg = train.merge_args(Config.fromfile(CONFIG),
                           _args(auto_scale_lr=True, cfg_options={'train_cfg.max_epochs': 7}))
    assert cfg.auto_scale_lr.enable is True and cfg.train_cfg.max_epochs == 7


def test_choose_resume(tmp_path: Path):
    train = _train_module()
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir, cfg.load_from = str(tmp_path), 'pretrained.pth'
    train.choose_resume(cfg, 'auto')
    # nothing to resume yet: keep the initial weights
    assert cfg.resume is False and cfg.load_from == 'pretrained.pth'
    torch.save(dict(meta=dict(epoch=3, iter=6)), tmp_path / 'epoch_3.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    train.choose_resume(cfg, 'auto')
    assert cfg.resume is True and cfg.load_from == str(tmp_path / 'epoch_3.pth')
    train.choose_resume(cfg, 'x.pth')
    assert cfg.resume is True and cfg.load_from == 'x.pth'


def test_resume_choice_comes_from_rank_0(tmp_path: Path, monkeypatch):
    """Rank 1 does not look at the work directory; it takes rank 0's broadcast choice."""
    train = _train_module()
    monkeypatch.setattr(train, 'get_dist_info', lambda: (1, 2))
    monkeypatch.setattr(train, 'find_resumable_checkpoint',
                        lambda work_dir: pytest.fail('only rank 0 may choose'))
    sent = []

    def broadcast(objects, src):
        sent.append((list(objects), src))
        objects[0] = '/shared/work_dir/epoch_4.pth'  # what rank 0 chose

    monkeypatch.setattr(train, 'broadcast_object_list', broadcast)
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path)
    train.choose_resume(cfg, 'auto')
    assert sent == [([None], 0)]
    assert cfg.resume is True and cfg.load_from == '/shared/work_dir/epoch_4.pth'


def test_resume_from_outside_the_work_dir_needs_trust(tmp_path: Path):
    """The work directory is trusted; a --resume PATH elsewhere only with --trust-checkpoint."""
    train = _train_module()
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    trust_checkpoint_path(cfg.work_dir)
    train.choose_resume(cfg, str(tmp_path / 'work' / 'epoch_1.pth'))
    train.check_resume_trusted(cfg)  # inside: fine
    outside = str(tmp_path / 'elsewhere' / 'epoch_1.pth')
    train.choose_resume(cfg, outside)
    with pytest.raises(ValueError, match=f'--resume {outside}: the file lies outside the work '
                       f'directory .*--trust-checkpoint {outside}'):
        train.check_resume_trusted(cfg)
    trust_checkpoint_path(outside)
    train.check_resume_trusted(cfg)
