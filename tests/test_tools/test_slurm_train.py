"""tools/slurm_train.sh hands srun the task layout the README documents (srun faked)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_srun(tmp_path: Path) -> dict:
    """An environment whose ``srun`` prints its arguments instead of starting tasks."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    srun = bin_dir / 'srun'
    srun.write_text('#!/usr/bin/env bash\necho "$@"\n')
    srun.chmod(0o755)
    env = dict(os.environ)
    env['PATH'] = os.pathsep.join([str(bin_dir), env['PATH']])
    for key in ('GPUS_PER_NODE', 'GPUS'):
        env.pop(key, None)
    env['PYTHON'] = sys.executable  # the launch summary runs tools/*.py --dry-run
    return env


def run(env: dict, *args: str, script: str = 'slurm_train.sh',
        **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(['bash', f'tools/{script}', *args], cwd=REPO,
                          env=dict(env, **extra), capture_output=True, text=True, timeout=60)


SUMMARY_32 = ('launch: 4 node(s) x 8 processes per node = world size 32, per-GPU batch 24, '
              'global batch 768, base lr 0.0003')


def test_official_layout_32_gpus(fake_srun):
    result = run(fake_srun, 'gpu', 'sar_d16', 'configs/sar/flexvar_d16_sar.py',
                 'work_dirs/sar_d16', '32', '--resume', 'auto')
    assert result.returncode == 0, result.stderr
    summary, srun = result.stdout.strip().splitlines()[-2:]
    assert summary == SUMMARY_32  # printed before srun
    words = srun.split()
    for option in ('-p', 'gpu', '--job-name=sar_d16', '--gres=gpu:8', '--ntasks=32',
                   '--ntasks-per-node=8', '--kill-on-bad-exit=1'):
        assert option in words, option
    train = words.index(f'{REPO}/tools/train.py')
    assert words[train:] == [f'{REPO}/tools/train.py', 'configs/sar/flexvar_d16_sar.py',
                             '--work-dir=work_dirs/sar_d16', '--resume', 'auto', '--launcher',
                             'slurm']


def test_gpus_from_the_environment(fake_srun):
    """OpenMMLab's habit, GPUS=32 tools/slurm_train.sh ..., is honoured, not reset to 8."""
    result = run(fake_srun, 'gpu', 'sar_d16', 'configs/sar/flexvar_d16_sar.py', 'wd', GPUS='32')
    assert result.returncode == 0, result.stderr
    assert SUMMARY_32 in result.stdout and '--ntasks=32' in result.stdout
    result = run(fake_srun, 'gpu', 'sar_d16', 'configs/sar/flexvar_d16_sar.py', 'wd', '16',
                 GPUS='32')
    assert result.returncode != 0 and 'GPUS=32' in result.stderr and '16' in result.stderr
    assert result.stdout == ''


def test_a_batch_that_does_not_split_is_refused_before_srun(fake_srun):
    result = run(fake_srun, 'gpu', 'job', 'configs/sar/flexvar_d16_sar.py', 'wd', '40',
                 GPUS_PER_NODE='8')
    assert result.returncode != 0 and 'cannot be split over world size 40' in result.stderr
    assert 'srun' not in result.stdout and '--ntasks' not in result.stdout


def test_gpus_per_node_must_divide_the_total(fake_srun):
    result = run(fake_srun, 'gpu', 'job', 'cfg.py', 'wd', '12', GPUS_PER_NODE='8')
    assert result.returncode != 0 and 'GPUS=12' in result.stderr
    assert result.stdout == ''  # srun was not called


def test_slurm_test_launches_the_evaluation(fake_srun):
    """tools/slurm_test.sh: FID-50k on 16 GPUs (2 nodes), summary first, then srun."""
    result = run(fake_srun, 'gpu', 'fid', 'configs/flexvar/flexvar_d16.py', 'ckpt.pth', '16',
                 '--save-npz', 'out.npz', script='slurm_test.sh')
    assert result.returncode == 0, result.stderr
    summary, srun = result.stdout.strip().splitlines()[-2:]
    assert summary == ('launch: 2 node(s) x 8 processes per node = world size 16, per-GPU batch '
                       '32, 50000 samples (3125 per process)')
    words = srun.split()
    assert '--ntasks=16' in words and '--ntasks-per-node=8' in words
    test = words.index(f'{REPO}/tools/test.py')
    assert words[test:] == [f'{REPO}/tools/test.py', 'configs/flexvar/flexvar_d16.py', 'ckpt.pth',
                            '--save-npz', 'out.npz', '--launcher', 'slurm']
    result = run(fake_srun, 'gpu', 'fid', 'configs/flexvar/flexvar_d16.py', 'ckpt.pth',
                 script='slurm_test.sh', GPUS='4')
    assert result.returncode == 0 and '--ntasks=4' in result.stdout
