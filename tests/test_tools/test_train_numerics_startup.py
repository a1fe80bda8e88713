"""tools/train.py sets the config's train_numerics once, before the Runner is built (mocked CUDA)."""
import sys
from pathlib import Path

import pytest
import torch
from mmengine.logging import MMLogger
from script_loading import load_script

from sar_mm.engine import train_numerics as train_numerics_module

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'tests' / 'data' / 'configs' / 'tiny_flexvar_sar.py'


def _flags() -> tuple:
    return (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
            torch.get_float32_matmul_precision(), torch.backends.cudnn.benchmark,
            torch.backends.cudnn.deterministic)


@pytest.fixture
def saved_flags():
    saved = _flags()
    yield
    (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, precision,
     torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic) = saved
    torch.set_float32_matmul_precision(precision)


class _RecordingRunner:
    """Stands in for MMEngine's Runner: records the flags it would be built with."""
    built_with = []

    @classmethod
    def from_cfg(cls, cfg):
        cls.built_with.append(_flags())
        return cls()

    def train(self) -> None:
        pass


def test_train_sets_the_flags_before_the_runner(tmp_path, monkeypatch, saved_flags):
    train = load_script(REPO / 'tools' / 'train.py', 'train_tool_numerics')
    MMLogger.get_current_instance()  # made before the mock: it would ask CUDA for a device id
    monkeypatch.setattr(train_numerics_module.torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(train, 'Runner', _RecordingRunner)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = torch.backends.cudnn.deterministic = False
    monkeypatch.setattr(sys, 'argv', [
        'train.py', str(CONFIG), '--work-dir', str(tmp_path), '--cfg-options',
        'train_numerics.tf32=True', 'train_numerics.cudnn_benchmark=True',
        'train_numerics.cudnn_deterministic=True'])
    _RecordingRunner.built_with.clear()
    train.main()
    assert _RecordingRunner.built_with == [(True, True, 'high', True, True)]
