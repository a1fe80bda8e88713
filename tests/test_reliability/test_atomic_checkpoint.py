"""Scenario 2: a process killed while writing a checkpoint never leaves a truncated "last" one.

The fault is injected into a real ``tools/train.py`` run: when the run
``fsync``-s the data of ``iter_4.pth``, the injected ``os.fsync`` cuts the file
it is writing to half its size and SIGKILLs the process, i.e. the process dies
in the middle of the write. ``--resume auto`` must then pick ``iter_2.pth``.
Truncated files written by other means (a full disk, a copy that broke off)
are skipped by ``--resume auto`` too.
"""
import errno
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from reliability_runs import ITER_CONFIG, REPO, env, train_cmd
from script_loading import load_script

from sar_mm.engine import atomic_write_bytes, find_resumable_checkpoint

# Runs tools/train.py with os.fsync replaced: fsync of the data of iter_4.pth
# truncates it to half and SIGKILLs the process (no clean-up runs).
KILL_DURING_WRITE = '''
import os, runpy, signal, sys
real_fsync = os.fsync
def fsync(fd):
    if os.readlink(f'/proc/self/fd/{fd}').endswith('iter_4.pth.partial'):
        os.ftruncate(fd, os.fstat(fd).st_size // 2)
        os.kill(os.getpid(), signal.SIGKILL)
    real_fsync(fd)
os.fsync = fsync
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


def _train_module():
    return load_script(REPO / 'tools' / 'train.py', 'sar_mm_tools_train')


def _resume_auto(work_dir: Path) -> Config:
    """What ``tools/train.py --resume auto`` makes of the config."""
    args = SimpleNamespace(config=str(ITER_CONFIG), work_dir=str(work_dir), resume='auto',
                           amp=False, auto_scale_lr=False, cfg_options=None, launcher='none')
    train = _train_module()
    cfg = train.merge_args(Config.fromfile(ITER_CONFIG), args)
    train.choose_resume(cfg, args.resume)
    return cfg


def test_kill_while_writing_a_checkpoint(tmp_path: Path):
    work_dir = tmp_path / 'run'
    result = subprocess.run([sys.executable, '-c', KILL_DURING_WRITE,
                             *train_cmd(ITER_CONFIG, work_dir)[1:]],
                            cwd=REPO, env=env(), capture_output=True, text=True, timeout=180)
    assert result.returncode == -signal.SIGKILL, result.stdout[-3000:] + result.stderr[-3000:]

    partial = work_dir / '.iter_4.pth.partial'
    assert partial.is_file()  # the half-written data, under a name nothing reads
    assert partial.stat().st_size < (work_dir / 'iter_2.pth').stat().st_size
    assert not (work_dir / 'iter_4.pth').exists()
    assert (work_dir / 'last_checkpoint').read_text().strip() == str(work_dir / 'iter_2.pth')

    cfg = _resume_auto(work_dir)
    assert cfg.resume is True and cfg.load_from == str(work_dir / 'iter_2.pth')


@pytest.fixture
def two_checkpoints(reference_run: Path, tmp_path: Path) -> Path:
    """A work dir with complete iter_4.pth and iter_6.pth, last_checkpoint -> iter_6."""
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    for name in ('iter_4.pth', 'iter_6.pth'):
        shutil.copy2(reference_run / name, work_dir / name)
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'iter_6.pth'))
    return work_dir


def test_resume_auto_takes_the_newest_complete_checkpoint(two_checkpoints: Path):
    assert find_resumable_checkpoint(str(two_checkpoints)) == str(two_checkpoints / 'iter_6.pth')


def test_resume_auto_skips_a_truncated_last_checkpoint(two_checkpoints: Path):
    newest = two_checkpoints / 'iter_6.pth'
    data = newest.read_bytes()
    newest.write_bytes(data[:len(data) * 2 // 3])  # cut off, as by a full disk
    assert find_resumable_checkpoint(str(two_checkpoints)) == str(two_checkpoints / 'iter_4.pth')
    cfg = _resume_auto(two_checkpoints)
    assert cfg.load_from == str(two_checkpoints / 'iter_4.pth')


@pytest.mark.parametrize('pointer', ['', 'missing.pth'])
def test_resume_auto_survives_a_broken_pointer(two_checkpoints: Path, pointer: str):
    """``last_checkpoint`` emptied by a kill during its write, or naming a deleted file."""
    (two_checkpoints / 'last_checkpoint').write_text(pointer and str(two_checkpoints / pointer))
    assert find_resumable_checkpoint(str(two_checkpoints)) == str(two_checkpoints / 'iter_6.pth')


def test_resume_auto_ignores_files_that_are_not_training_checkpoints(two_checkpoints: Path):
    torch.save(dict(weight=torch.ones(2)), two_checkpoints / 'converted_weights.pth')
    (two_checkpoints / 'empty.pth').write_bytes(b'')
    assert find_resumable_checkpoint(str(two_checkpoints)) == str(two_checkpoints / 'iter_6.pth')
    for name in ('iter_4.pth', 'iter_6.pth'):
        (two_checkpoints / name).unlink()
    assert find_resumable_checkpoint(str(two_checkpoints)) is None
    cfg = _resume_auto(two_checkpoints)  # nothing to resume: a fresh start
    assert cfg.resume is False and cfg.load_from is None


def test_failed_write_keeps_the_previous_file(tmp_path: Path, monkeypatch):
    """An error during the write (here: disk full at fsync) leaves the old content."""
    target = tmp_path / 'iter_2.pth'
    atomic_write_bytes(b'complete', target)

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, 'fsync', disk_full)
    with pytest.raises(OSError, match='No space left'):
        atomic_write_bytes(b'new and longer content', target)
    assert target.read_bytes() == b'complete'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['iter_2.pth']


def test_resume_auto_stays_inside_a_copied_work_dir(two_checkpoints: Path, tmp_path: Path,
                                                    monkeypatch):
    """A copy of the work dir whose ``last_checkpoint`` still names the original's file.

    With its own checkpoints complete the copy resumes its own newest one; with all of
    them truncated it starts afresh. It never opens the original's file (which would be
    unpickled as trusted), and says why it ignored ``last_checkpoint``.
    """
    import sar_mm.engine.resumable_checkpoint as resumable
    warnings = []
    monkeypatch.setattr(resumable, 'print_log', lambda message, **kwargs: warnings.append(message))
    copy = tmp_path / 'copy'
    shutil.copytree(two_checkpoints, copy)
    (two_checkpoints / 'iter_8.pth').write_bytes((two_checkpoints / 'iter_6.pth').read_bytes())
    (copy / 'last_checkpoint').write_text(str(two_checkpoints / 'iter_8.pth'))
    assert find_resumable_checkpoint(str(copy)) == str(copy / 'iter_6.pth')
    assert any('outside the work directory' in w and 'iter_8.pth' in w for w in warnings)
    for name in ('iter_4.pth', 'iter_6.pth'):
        data = (copy / name).read_bytes()
        (copy / name).write_bytes(data[:len(data) // 2])
    assert find_resumable_checkpoint(str(copy)) is None
    (copy / 'iter_6.pth').unlink()
    (copy / 'iter_6.pth').symlink_to(two_checkpoints / 'iter_6.pth')  # a link out of the dir
    assert find_resumable_checkpoint(str(copy)) is None
