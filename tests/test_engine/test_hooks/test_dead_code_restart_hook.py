"""DeadCodeRestartHook: unused codes re-seeded from recent encoder outputs; exact on resume."""
import re
from types import SimpleNamespace

import pytest
import torch
from codebook_runs import FAMILIES, TOKENIZERS, assert_same_weights, log_text, train, weights

from sar_mm.engine.hooks import DeadCodeRestartHook
from sar_mm.models.generators import VQTokenizerTrainer


@pytest.mark.parametrize('family', FAMILIES)
def test_dead_codes_take_recent_vectors_and_live_codes_stay(family):
    torch.manual_seed(0)
    model = VQTokenizerTrainer(tokenizer=TOKENIZERS[family])
    runner = SimpleNamespace(model=model, iter=0)
    hook = DeadCodeRestartHook(interval=2, buffer_size=1000)
    hook.before_train(runner)
    before = model.codebook.weight.detach().clone()
    used, seen = [], []
    for i in range(2):
        runner.iter = i
        model(torch.rand(2, 3, 8, 8) * 2 - 1, mode='loss')
        idx, vectors = model.last_matched
        used += [x.flatten() for x in idx]
        seen += vectors
        hook.after_train_iter(runner, i)
    live = torch.zeros(64, dtype=torch.bool)
    live[torch.cat(used)] = True
    after = model.codebook.weight.detach()
    assert 0 < int(live.sum()) < 64
    assert torch.equal(after[live], before[live])
    seen = torch.cat(seen)  # every vector of both iterations fits in the buffer
    distance = (after[~live][:, None] - seen[None]).abs().amax(dim=-1)  # (dead, N)
    assert distance.min(dim=1).values.max().item() == 0
    assert distance.argmin(dim=1).unique().numel() == int((~live).sum())  # distinct vectors


def _restarts(work_dir) -> list:
    return [int(n) for n in re.findall(r're-seeded (\d+) of 64 codes', log_text(work_dir))]


@pytest.mark.parametrize('family', FAMILIES)
def test_resumed_run_restarts_exactly_like_the_whole_run(tmp_path, family):
    hooks = [dict(type='DeadCodeRestartHook', interval=2, seed=5)]
    train(tmp_path / 'whole', family, hooks)
    train(tmp_path / 'resumed', family, hooks, resume_from=tmp_path / 'whole' / 'epoch_1.pth')
    # restarts after iterations 2, 4 and 6; the run is interrupted after iteration 3
    whole, resumed = _restarts(tmp_path / 'whole'), _restarts(tmp_path / 'resumed')
    assert len(whole) == 3 and resumed == whole[1:] and all(n > 0 for n in whole)
    assert_same_weights(tmp_path / 'whole' / 'epoch_2.pth', tmp_path / 'resumed' / 'epoch_2.pth')

    # without the hook's counts, buffer and generator the resumed run trains other weights
    checkpoint = torch.load(tmp_path / 'whole' / 'epoch_1.pth', weights_only=False)
    del checkpoint['dead_code_restart_hook']
    torch.save(checkpoint, tmp_path / 'stateless.pth')
    train(tmp_path / 'stateless', family, hooks, resume_from=tmp_path / 'stateless.pth')
    key = 'tokenizer.quantize.embedding.weight'
    assert not torch.equal(weights(tmp_path / 'stateless' / 'epoch_2.pth')[key],
                           weights(tmp_path / 'whole' / 'epoch_2.pth')[key])


def test_rejects_bad_settings():
    with pytest.raises(ValueError, match='must be >= 1'):
        DeadCodeRestartHook(interval=0)
