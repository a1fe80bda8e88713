"""The launchers' headers say what the launch does: no CPU fall-back, the gloo flag instead."""
from pathlib import Path

from sar_mm.engine.runtime import cuda_unusable_message

TOOLS = Path(__file__).resolve().parents[2] / 'tools'
GLOO_FLAG = '--cfg-options env_cfg.dist_cfg.backend=gloo'


def _header(name: str) -> str:
    lines = (TOOLS / name).read_text().splitlines()
    return ' '.join(line.lstrip('# ') for line in lines[1:] if line.startswith('#'))


def test_dist_train_header_names_the_flag_that_the_refusal_names():
    header = _header('dist_train.sh')
    assert 'train on CPU (gloo)' not in header  # the fall-back that no longer exists
    assert 'refuses to start without CUDA' in header and GLOO_FLAG in header
    assert GLOO_FLAG in cuda_unusable_message('nccl')  # what the run says when it refuses
