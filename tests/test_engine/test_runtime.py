"""setup_distributed: the process group before the Runner, on CUDA and on CPU (gloo)."""
import datetime
import os

import pytest
import torch.distributed as torch_dist
from mmengine.config import Config

from sar_mm.engine import runtime, setup_distributed


@pytest.fixture
def no_cuda(monkeypatch) -> None:
    """Take the CPU path on any machine."""
    monkeypatch.setattr(runtime.torch.cuda, 'is_available', lambda: False)


def _cfg(backend: str = 'gloo') -> Config:
    return Config(dict(env_cfg=dict(dist_cfg=dict(backend=backend, timeout=123)),
                       find_unused_parameters=True))


def test_single_process_is_untouched():
    cfg = _cfg('nccl')
    setup_distributed(cfg, 'none')
    assert cfg.env_cfg.dist_cfg.backend == 'nccl' and 'model_wrapper_cfg' not in cfg


@pytest.mark.parametrize('launcher', ['pytorch', 'slurm'])
def test_gpu_config_without_cuda_stops_with_the_reason(monkeypatch, no_cuda, launcher):
    """A GPU recipe (NCCL) never falls back to CPU training in silence."""
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '')
    monkeypatch.setattr(runtime.torch_dist, 'init_process_group',
                        lambda **kwargs: pytest.fail('no process group may start'))
    with pytest.raises(RuntimeError) as error:
        setup_distributed(_cfg('nccl'), launcher)
    message = str(error.value)
    assert "backend='nccl'" in message and 'torch.cuda.is_available() is False' in message
    assert "CUDA_VISIBLE_DEVICES=''" in message
    assert 'env_cfg.dist_cfg.backend=gloo' in message


def test_cuda_launch_initialises_through_mmengine(monkeypatch):
    """On GPUs the group (NCCL, the config's timeout) starts before the Runner."""
    monkeypatch.setattr(runtime.torch.cuda, 'is_available', lambda: True)
    calls = []
    monkeypatch.setattr(runtime, 'init_dist',
                        lambda launcher, **kwargs: calls.append((launcher, kwargs)))
    cfg = _cfg('nccl')
    setup_distributed(cfg, 'pytorch')
    assert calls == [('pytorch', dict(backend='nccl', timeout=123))]
    assert 'model_wrapper_cfg' not in cfg  # MMEngine's own DDP wrapper on GPUs


def test_cpu_torchrun_initialises_gloo_with_the_config_timeout(monkeypatch, no_cuda):
    for key, value in dict(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0', MASTER_ADDR='127.0.0.1',
                           MASTER_PORT='29517').items():
        monkeypatch.setenv(key, value)
    calls = []
    monkeypatch.setattr(runtime.torch_dist, 'init_process_group',
                        lambda **kwargs: calls.append(kwargs))
    cfg = _cfg()
    setup_distributed(cfg, 'pytorch')
    assert calls == [dict(backend='gloo', timeout=datetime.timedelta(seconds=123))]
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg == dict(type='MMDistributedDataParallel', device_ids=None,
                                         broadcast_buffers=False, find_unused_parameters=True)


def test_cpu_slurm_exports_the_torch_environment(monkeypatch, no_cuda):
    for key in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_PORT'):
        monkeypatch.setenv(key, 'unset')  # recorded, so the test's exports are undone
        monkeypatch.delenv(key)
    for key, value in dict(SLURM_PROCID='3', SLURM_NTASKS='4', SLURM_LOCALID='1',
                           SLURM_NODELIST='node[1-2]', MASTER_ADDR='10.1.1.1').items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(runtime.torch_dist, 'init_process_group', lambda **kwargs: None)
    setup_distributed(_cfg(), 'slurm')
    exported = (os.environ['RANK'], os.environ['WORLD_SIZE'], os.environ['LOCAL_RANK'])
    assert exported == ('3', '4', '1')
    assert os.environ['MASTER_ADDR'] == '10.1.1.1' and os.environ['MASTER_PORT'] == '29500'
    assert not torch_dist.is_initialized()


def test_unknown_launcher(no_cuda):
    with pytest.raises(ValueError, match='launcher'):
        setup_distributed(_cfg(), 'mpi')
