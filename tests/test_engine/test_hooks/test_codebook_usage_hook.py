"""CodebookUsageHook: usage, perplexity and dead codes over windows, logged, warned and resumed."""
import math
import uuid
from types import SimpleNamespace

import pytest
import torch
from codebook_runs import FAMILIES, PATCH_NUMS, TOKENIZERS, log_text, scalars, train
from mmengine.logging import MessageHub

from sar_mm.engine.hooks import CodebookUsageHook
from sar_mm.engine.hooks.codebook_usage_hook import codebook_stats
from sar_mm.models.generators import VQTokenizerTrainer


def test_stats_of_hit_counts():
    stats = codebook_stats(torch.tensor([3, 1, 0, 0]))
    assert stats['usage'] == 50.0 and stats['dead_codes'] == 2
    assert stats['perplexity'] == pytest.approx(
        math.exp(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25))))
    assert codebook_stats(torch.tensor([5, 5, 5, 5]))['perplexity'] == pytest.approx(4.0)


def _inference_codes(model: VQTokenizerTrainer, family: str, images: torch.Tensor) -> torch.Tensor:
    """Codes of the tokenizer's inference path: VAR's every scale, FlexVAR's full latent."""
    scales = PATCH_NUMS if family == 'var' else (PATCH_NUMS[-1],)
    return torch.cat([idx.flatten() for idx in model.tokenizer.img_to_idx(images, scales)])


@pytest.mark.parametrize('family', FAMILIES)
def test_window_counts_the_codes_of_every_scale(family):
    torch.manual_seed(0)
    model = VQTokenizerTrainer(tokenizer=TOKENIZERS[family])
    hub = MessageHub.get_instance(f'usage_{uuid.uuid4().hex}')
    runner = SimpleNamespace(model=model, message_hub=hub, iter=0)
    hook = CodebookUsageHook(interval=2, warn_below=0)
    hook.before_train(runner)
    batches = [torch.rand(2, 3, 8, 8) * 2 - 1 for _ in range(2)]
    for i, images in enumerate(batches):
        runner.iter = i
        model(images, mode='loss')
        hook.after_train_iter(runner, i)
        if i == 0:
            assert 'train/codebook/usage' not in hub.log_scalars  # the window is open
    expected = codebook_stats(torch.bincount(
        torch.cat([_inference_codes(model, family, x) for x in batches]), minlength=64))
    for key, value in expected.items():
        assert hub.get_scalar(f'train/codebook/{key}').current() == pytest.approx(value)
    assert 0 < expected['usage'] < 100


@pytest.mark.parametrize('family', FAMILIES)
def test_logged_warned_and_resumed_exactly(tmp_path, family):
    hooks = [dict(type='CodebookUsageHook', interval=2, warn_below=1.0)]
    train(tmp_path / 'whole', family, hooks)
    train(tmp_path / 'resumed', family, hooks, resume_from=tmp_path / 'whole' / 'epoch_1.pth')
    keys = ('codebook/usage', 'codebook/perplexity', 'codebook/dead_codes')

    def logged(name):
        return {row['step']: tuple(row[k] for k in keys)
                for row in scalars(tmp_path / name) if 'codebook/usage' in row}

    # windows close after iterations 2, 4 and 6; the log and the visualizer show the last one
    whole_rows, resumed_rows = logged('whole'), logged('resumed')
    assert set(whole_rows) == {2, 3, 4, 5, 6} and set(resumed_rows) == {4, 5, 6}
    # the window of iterations 3-4 spans the interruption after iteration 3
    for step in (4, 6):
        assert resumed_rows[step] == whole_rows[step]
    assert whole_rows[2] != whole_rows[4]
    assert 'codebook usage 0.' in log_text(tmp_path / 'whole')
    assert 'codes selected in the last 2 iterations (warn_below=1.0)' in log_text(
        tmp_path / 'whole')
