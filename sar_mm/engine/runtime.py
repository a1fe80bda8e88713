"""Distributed start-up for CPU runs of the MMEngine Runner.

MMEngine 0.10.7 cannot start distributed training without a GPU: its
``init_dist`` calls ``torch.cuda.set_device`` and its DDP wrapper passes
``device_ids=[LOCAL_RANK]``, which DDP rejects for a CPU model. On a machine
without CUDA, ``setup_distributed`` therefore initialises a ``gloo`` process
group itself *before* the Runner is built (the Runner then skips ``init_dist``)
and configures ``MMDistributedDataParallel`` with ``device_ids=None``. On CUDA
it changes nothing: MMEngine initialises NCCL from ``env_cfg.dist_cfg``.

The collective-op timeout is ``env_cfg.dist_cfg.timeout`` (seconds) in both cases.
"""
import datetime
import os
import subprocess

import torch
import torch.distributed as torch_dist
from mmengine.config import Config

__all__ = ['setup_distributed']


def _slurm_to_torch_env() -> None:
    """Export the ``env://`` variables of torch.distributed from a Slurm task."""
    os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
    os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
    os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        node_list = os.environ['SLURM_NODELIST']
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {node_list} | head -n1')


def setup_distributed(cfg: Config, launcher: str) -> None:
    """Prepare ``cfg`` (and, on CPU, the process group) for a distributed launch.

    Args:
        cfg (Config): the training config; ``env_cfg.dist_cfg`` and
            ``model_wrapper_cfg`` are updated in place on CPU.
        launcher (str): ``'none'``, ``'pytorch'`` (torchrun) or ``'slurm'``.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher not in ('pytorch', 'slurm'):
        raise ValueError(f'launcher must be none, pytorch or slurm, got {launcher!r}')
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    if launcher == 'slurm':
        _slurm_to_torch_env()
    if not torch_dist.is_initialized():
        timeout = dist_cfg.get('timeout')
        torch_dist.init_process_group(
            backend='gloo',
            timeout=None if timeout is None else datetime.timedelta(seconds=timeout))
    wrapper_cfg = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper_cfg.setdefault('type', 'MMDistributedDataParallel')
    wrapper_cfg.setdefault('broadcast_buffers', False)
    wrapper_cfg.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    wrapper_cfg['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper_cfg
