"""Checkpoint loading on torch >= 2.6: weights_only except for trusted paths."""
from pathlib import Path

import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import CheckpointLoader, load_checkpoint

from sar_mm.engine import checkpoint_io
from sar_mm.engine.checkpoint_io import (is_trusted_checkpoint, load_local_checkpoint,
                                         register_checkpoint_loader, trust_checkpoint_path)


@pytest.fixture(autouse=True)
def no_trusted_paths(monkeypatch):
    monkeypatch.setattr(checkpoint_io, '_TRUSTED', [])


def _mmengine_style(path: Path) -> None:
    """A checkpoint as MMEngine writes it: weights plus non-tensor objects."""
    torch.save(dict(meta=dict(epoch=1), state_dict=dict(w=torch.ones(2)),
                    message_hub=dict(log_scalars=dict(loss=HistoryBuffer([1.0], [1])))), path)


def test_untrusted_mmengine_checkpoint_is_refused_with_file_name(tmp_path: Path):
    path = tmp_path / 'epoch_1.pth'
    _mmengine_style(path)
    with pytest.raises(RuntimeError, match='epoch_1.pth.*trust-checkpoint'):
        load_local_checkpoint(str(path))


def test_trusted_directory_and_file(tmp_path: Path):
    path = tmp_path / 'work' / 'epoch_1.pth'
    path.parent.mkdir()
    _mmengine_style(path)
    trust_checkpoint_path(str(tmp_path / 'work'))
    assert is_trusted_checkpoint(str(path))
    assert not is_trusted_checkpoint(str(tmp_path / 'work2' / 'x.pth'))  # prefix, not a child
    loaded = load_local_checkpoint(str(path))
    assert isinstance(loaded['message_hub']['log_scalars']['loss'], HistoryBuffer)


def test_plain_state_dict_loads_untrusted(tmp_path: Path):
    path = tmp_path / 'converted.pth'
    torch.save(dict(state_dict=dict(w=torch.arange(3.0)), meta=dict(source='official')), path)
    loaded = load_local_checkpoint(str(path))
    torch.testing.assert_close(loaded['state_dict']['w'], torch.arange(3.0))


def test_missing_file(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        load_local_checkpoint(str(tmp_path / 'none.pth'))


def test_registered_as_mmengine_local_loader(tmp_path: Path):
    register_checkpoint_loader()
    assert CheckpointLoader._get_checkpoint_loader(str(tmp_path / 'a.pth')) is load_local_checkpoint
    path = tmp_path / 'epoch_2.pth'
    _mmengine_style(path)
    trust_checkpoint_path(str(path))
    model = torch.nn.Module()
    model.w = torch.nn.Parameter(torch.zeros(2))
    load_checkpoint(model, str(path))
    torch.testing.assert_close(model.w.detach(), torch.ones(2))
