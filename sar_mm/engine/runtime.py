"""Distributed start-up of the MMEngine Runner, on GPUs and on CPUs.

``setup_distributed`` creates the process group *before* the Runner is built
(the Runner then skips its own ``init_dist``), so that ``tools/train.py`` can
let rank 0 choose the checkpoint to resume and broadcast the choice.

- With CUDA it calls MMEngine's ``init_dist`` with ``env_cfg.dist_cfg``
  (NCCL by default), which also binds each process to its GPU.
- Without CUDA, a config whose ``env_cfg.dist_cfg.backend`` is ``'nccl'`` (the
  default runtime: a GPU recipe) stops with an error that says why CUDA is
  unusable; a silent fall-back would run a cluster job on CPUs. With
  ``backend='gloo'`` the run trains on CPUs on purpose. MMEngine 0.10.7 cannot
  do that itself (its ``init_dist`` calls ``torch.cuda.set_device`` and its DDP
  wrapper passes ``device_ids=[LOCAL_RANK]``, which DDP rejects for a CPU
  model), so the gloo group is created here and ``MMDistributedDataParallel``
  gets ``device_ids=None``.

The collective-op timeout is ``env_cfg.dist_cfg.timeout`` (seconds) in both cases.
"""
import datetime
import os
import subprocess

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.dist import init_dist

__all__ = ['setup_distributed', 'cuda_unusable_message']


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


def cuda_unusable_message(backend: str) -> str:
    """Why a distributed run that asks for ``backend`` cannot use CUDA here."""
    visible = os.environ.get('CUDA_VISIBLE_DEVICES')
    build = (f'built for CUDA {torch.version.cuda}' if torch.version.cuda
             else 'a CPU-only build (no CUDA support)')
    return (f"the config asks for a GPU run (env_cfg.dist_cfg.backend='{backend}') but CUDA is "
            f'unusable in this process: torch.cuda.is_available() is False (torch '
            f'{torch.__version__}, {build}; CUDA_VISIBLE_DEVICES='
            f'{"<unset>" if visible is None else repr(visible)}). Check the node\'s NVIDIA '
            'driver (nvidia-smi), the job\'s GPU allocation and CUDA_VISIBLE_DEVICES. To train '
            "on CPUs on purpose, pass --cfg-options env_cfg.dist_cfg.backend=gloo.")


def setup_distributed(cfg: Config, launcher: str) -> None:
    """Create the process group of a distributed launch before the Runner is built.

    Args:
        cfg (Config): the training config; ``env_cfg.dist_cfg`` and
            ``model_wrapper_cfg`` are updated in place on CPU.
        launcher (str): ``'none'``, ``'pytorch'`` (torchrun) or ``'slurm'``.

    Raises:
        RuntimeError: CUDA is unusable and the config's backend is ``'nccl'``.
    """
    if launcher == 'none':
        return
    if launcher not in ('pytorch', 'slurm'):
        raise ValueError(f'launcher must be none, pytorch or slurm, got {launcher!r}')
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    if torch.cuda.is_available():
        if not torch_dist.is_initialized():
            init_dist(launcher, **dist_cfg)
        return
    backend = dist_cfg.get('backend', 'nccl')
    if backend == 'nccl':
        raise RuntimeError(cuda_unusable_message(backend))
    if launcher == 'slurm':
        _slurm_to_torch_env()
    if not torch_dist.is_initialized():
        timeout = dist_cfg.get('timeout')
        torch_dist.init_process_group(
            backend=backend,
            timeout=None if timeout is None else datetime.timedelta(seconds=timeout))
    wrapper_cfg = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper_cfg.setdefault('type', 'MMDistributedDataParallel')
    wrapper_cfg.setdefault('broadcast_buffers', False)
    wrapper_cfg.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    wrapper_cfg['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper_cfg
