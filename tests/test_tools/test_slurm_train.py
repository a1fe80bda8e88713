"""tools/slurm_train.sh hands srun the task layout the README documents (srun faked)."""
import os
import subprocess
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
    env.pop('GPUS_PER_NODE', None)
    return env


def run(env: dict, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(['bash', 'tools/slurm_train.sh', *args], cwd=REPO,
                          env=dict(env, **extra), capture_output=True, text=True, timeout=30)


def test_official_layout_32_gpus(fake_srun):
    result = run(fake_srun, 'gpu', 'sar_d16', 'configs/sar/flexvar_d16_sar.py',
                 'work_dirs/sar_d16', '32', '--resume', 'auto')
    assert result.returncode == 0, result.stderr
    words = result.stdout.split()
    for option in ('-p', 'gpu', '--job-name=sar_d16', '--gres=gpu:8', '--ntasks=32',
                   '--ntasks-per-node=8', '--kill-on-bad-exit=1'):
        assert option in words, option
    train = words.index(f'{REPO}/tools/train.py')
    assert words[train:] == [f'{REPO}/tools/train.py', 'configs/sar/flexvar_d16_sar.py',
                             '--work-dir=work_dirs/sar_d16', '--launcher', 'slurm', '--resume',
                             'auto']


def test_gpus_per_node_must_divide_the_total(fake_srun):
    result = run(fake_srun, 'gpu', 'job', 'cfg.py', 'wd', '12', GPUS_PER_NODE='8')
    assert result.returncode != 0 and 'GPUS=12' in result.stderr
    assert result.stdout == ''  # srun was not called
