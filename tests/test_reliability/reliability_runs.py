"""Launching, killing and reading the tiny training runs of the reliability tests."""
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.runner import Runner

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'tests' / 'data' / 'configs'
ITER_CONFIG = CONFIGS / 'tiny_flexvar_sar_iter.py'
EPOCH_CONFIG = CONFIGS / 'tiny_flexvar_sar.py'

#: every logged training value; all must repeat bit for bit after a resume
LOGGED_KEYS = ('loss', 'loss_tf', 'loss_sf', 'ce_student', 'acc_tf', 'acc_student',
               'grad_norm', 'lr')


def env(**extra: str) -> dict:
    """The environment of a child process: the repo importable, one thread."""
    environ = dict(os.environ)
    environ['PYTHONPATH'] = os.pathsep.join(filter(None, [str(REPO), environ.get('PYTHONPATH')]))
    environ['OMP_NUM_THREADS'] = '1'
    environ.update(extra)
    return environ


def train_cmd(config: Path, work_dir: Path, *args: str) -> List[str]:
    return [sys.executable, 'tools/train.py', str(config), '--work-dir', str(work_dir), *args]


def run(cmd: List[str], timeout: float = 180) -> subprocess.CompletedProcess:
    """Run to completion and require success."""
    result = subprocess.run(cmd, cwd=REPO, env=env(), capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def start(cmd: List[str], log: Path) -> subprocess.Popen:
    """Start in the background, output to ``log``."""
    with open(log, 'w') as out:
        return subprocess.Popen(cmd, cwd=REPO, env=env(), stdout=out, stderr=subprocess.STDOUT)


def wait_for(path: Path, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    """Poll (10 ms) until ``path`` exists; fail if the process ends first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f'the run ended (rc {process.returncode}) before {path.name} '
                                 f'appeared:\n{log.read_text()[-3000:]}')
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f'{path.name} did not appear in {timeout} s')
        time.sleep(0.01)


def sigkill(process: subprocess.Popen) -> None:
    """SIGKILL (no clean-up of any kind) and reap."""
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def logged(work_dir: Path) -> Dict[int, Tuple]:
    """iteration -> the LOGGED_KEYS values, over every run (log folder) of ``work_dir``.

    Later runs (a resume) overwrite the iterations they repeat.
    """
    rows = {}
    for path in sorted(work_dir.glob('*/vis_data/scalars.json')):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if 'loss' in row:
                rows[row['iter']] = tuple(row[key] for key in LOGGED_KEYS)
    return rows


def checkpoint_iter(path: Path) -> int:
    return torch.load(path, map_location='cpu', weights_only=False)['meta']['iter']


def resumed_iter(log: str) -> Optional[int]:
    """The iteration a run's log says it resumed at (``None``: not resumed)."""
    match = re.search(r'resumed epoch: \d+, iter: (\d+)', log)
    return None if match is None else int(match.group(1))


def in_process_runner(cfg, work_dir: Path) -> Runner:
    """A Runner in this process with its own logger, message hub and visualizer.

    MMEngine names those instances after the experiment, by default the config
    name and the second it started: two runners of one test would share them.
    """
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'{Path(work_dir).name}_{uuid.uuid4().hex}'
    return Runner.from_cfg(cfg)
