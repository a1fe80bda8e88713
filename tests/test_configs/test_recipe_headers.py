"""Config headers state the recipe choices the official sources leave open.

The FlexVAR baseline configs say where their guidance scale comes from, that no
official source states the baseline's, and how to sweep it; the paper-variant
SAR configs state their start epoch (170 or 169 for d16) and why. The numbers
in the text are checked against the configs' values.
"""
from pathlib import Path

import pytest
from mmengine.config import Config

REPO = Path(__file__).resolve().parents[2]


def header(path: Path) -> str:
    """The leading comment block, as one line of text."""
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith('#'):
            break
        lines.append(line.lstrip('#').strip())
    return ' '.join(lines)


@pytest.mark.parametrize('depth,baseline_fid', [(16, '3.05'), (20, '2.41'), (24, '2.21')])
def test_flexvar_configs_state_the_baselines_guidance(depth, baseline_fid):
    path = REPO / 'configs' / 'flexvar' / f'flexvar_d{depth}.py'
    cfg = Config.fromfile(str(path))
    text = header(path)
    assert f'Guidance scale: {cfg.model.test_cfg.cfg:g} is what eval_SAR_d{depth}.sh' in text
    assert f'FID {baseline_fid}' in text and 'no official source states its cfg' in text
    assert 'use cfg 2.5' in text  # FlexVAR's own evaluation examples
    assert '--cfg-sweep 2.0 2.2 2.5 3.0' in text


@pytest.mark.parametrize('depth', [16, 20, 24])
def test_paper_configs_state_their_start_epoch(depth):
    path = REPO / 'configs' / 'sar' / f'flexvar_d{depth}_sar_paper.py'
    cfg = Config.fromfile(str(path))
    (scheduler, ) = cfg.param_scheduler
    start, horizon = scheduler.start_epoch, scheduler.total_epochs
    assert start + cfg.train_cfg.max_epochs == horizon
    text = header(path)
    assert f'Start epoch {start}, not {start - 1}' in text
    assert f'SARd{depth}-epo{horizon - 1}.pth' in text  # the last index run = the release's
    assert f'-epo{start - 1}' in text and '11 epochs' in text  # the official alternative
