"""TrainNumerics / setup_train_numerics: the official trainers' TF32 and cuDNN flags, on a mocked CUDA."""
import logging

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

from sar_mm.engine import TrainNumerics, setup_train_numerics
from sar_mm.engine import train_numerics as train_numerics_module


def _flags() -> tuple:
    return (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
            torch.get_float32_matmul_precision(), torch.backends.cudnn.benchmark,
            torch.backends.cudnn.deterministic)


@pytest.fixture
def saved_flags():
    """Restore the process-wide flags the test changes."""
    saved = _flags()
    yield saved
    (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, precision,
     torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic) = saved
    torch.set_float32_matmul_precision(precision)


@pytest.fixture
def cuda(monkeypatch, saved_flags) -> None:
    MMLogger.get_current_instance()  # made before the mock: it would ask CUDA for a device id
    monkeypatch.setattr(train_numerics_module.torch.cuda, 'is_available', lambda: True)


def _set_all(value: bool) -> None:
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = value
    torch.backends.cudnn.benchmark = torch.backends.cudnn.deterministic = value


def test_official_flags_are_set_on_cuda(cuda):
    """FlexVAR / SAR ``utils/arg_util.py``: set_tf32(True), seed_everything(benchmark=True), seed 0."""
    _set_all(False)
    message = TrainNumerics(tf32=True, cudnn_benchmark=True, cudnn_deterministic=True).apply()
    assert _flags() == (True, True, 'high', True, True)
    assert message == ("train numerics: TF32 on (cuDNN convolutions and CUDA matmuls, "
                       "float32_matmul_precision 'high'), cuDNN benchmark on, cuDNN "
                       'deterministic on')


def test_off_means_full_float32_on_cuda(cuda):
    """``tf32=False`` also turns off cuDNN's TF32, which PyTorch enables by default."""
    _set_all(True)
    torch.set_float32_matmul_precision('high')
    TrainNumerics().apply()
    assert _flags() == (False, False, 'highest', False, False)


def test_var_keeps_cudnn_nondeterministic(cuda):
    """VAR's trainer has ``seed=None``: deterministic off, benchmark on."""
    _set_all(False)
    TrainNumerics(tf32=True, cudnn_benchmark=True, cudnn_deterministic=False).apply()
    assert _flags() == (True, True, 'high', True, False)


def test_nothing_is_set_without_cuda(monkeypatch, saved_flags):
    monkeypatch.setattr(train_numerics_module.torch.cuda, 'is_available', lambda: False)
    _set_all(False)
    before = _flags()
    message = TrainNumerics(tf32=True, cudnn_benchmark=True, cudnn_deterministic=True).apply()
    assert _flags() == before
    assert message.startswith('train numerics: no CUDA, TF32 and cuDNN flags left as they are')


@pytest.fixture
def log_records():
    """Messages of the current MMLogger (created before CUDA is mocked)."""
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_setup_reads_the_config_and_logs_once(log_records, cuda):
    cfg = Config(dict(train_numerics=dict(tf32=True, cudnn_benchmark=False,
                                          cudnn_deterministic=True)))
    applied = setup_train_numerics(cfg)
    assert applied == TrainNumerics(tf32=True, cudnn_benchmark=False, cudnn_deterministic=True)
    assert _flags() == (True, True, 'high', False, True)
    messages = [r.getMessage() for r in log_records if 'train numerics' in r.getMessage()]
    assert len(messages) == 1 and 'TF32 on' in messages[0]


def test_missing_key_means_off(cuda):
    _set_all(True)
    assert setup_train_numerics(Config(dict())) == TrainNumerics()
    assert _flags() == (False, False, 'highest', False, False)


@pytest.mark.parametrize('settings,error,match', [
    (dict(tf32='on'), ValueError, "train_numerics.tf32 must be True or False, got 'on'"),
    (dict(cudnn_benchmark=1), ValueError, 'train_numerics.cudnn_benchmark must be True or'),
    (dict(tf_32=True), KeyError, r"unknown train_numerics keys \['tf_32'\]"),
])
def test_bad_settings_are_refused(cuda, settings, error, match):
    before = _flags()
    with pytest.raises(error, match=match):
        setup_train_numerics(Config(dict(train_numerics=settings)))
    assert _flags() == before
