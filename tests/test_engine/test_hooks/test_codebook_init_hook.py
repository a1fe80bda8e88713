"""CodebookInitHook: codebook rows from the first batch's encoder outputs, once per run."""
from types import SimpleNamespace

import pytest
import torch
from codebook_runs import FAMILIES, TOKENIZERS, assert_same_weights, log_text, train, weights

from sar_mm.engine.hooks import CodebookInitHook
from sar_mm.models.generators import VQTokenizerTrainer
from sar_mm.models.tokenizers.residual_quantizer import nearest_code_sqdist


def _setup(family):
    torch.manual_seed(0)
    model = VQTokenizerTrainer(tokenizer=TOKENIZERS[family])
    images = torch.randint(0, 256, (8, 3, 8, 8), dtype=torch.uint8)
    batch = dict(inputs=list(images), data_samples=dict(labels=torch.zeros(8, dtype=torch.long)))
    vectors = torch.cat(model.match_codes(model.data_preprocessor(batch, True)['inputs'])[1])
    return model, batch, vectors


def _quantisation_error(vectors, codebook, normalized):
    if normalized:
        codebook = torch.nn.functional.normalize(codebook, dim=-1)
    nearest = codebook[nearest_code_sqdist(vectors, codebook)]
    return (vectors - nearest).pow(2).sum(1).mean().item()


@pytest.mark.parametrize('family', FAMILIES)
def test_sampled_rows_are_encoder_vectors(family):
    model, batch, vectors = _setup(family)
    rng = torch.get_rng_state()
    CodebookInitHook(method='sample', seed=3).before_train_iter(
        SimpleNamespace(model=model, iter=0), 0, batch)
    assert torch.equal(torch.get_rng_state(), rng)  # the global stream is untouched
    codebook = model.codebook.weight.detach()
    # VAR: every scale's residuals (8 + 32 + 128 vectors); FlexVAR: the 128 unit latent cells
    assert vectors.shape[0] == (168 if family == 'var' else 128)
    distance = (codebook[:, None] - vectors[None]).abs().amax(dim=-1)  # (V, N)
    assert distance.min(dim=1).values.max().item() == 0  # each row is one of the vectors
    assert distance.argmin(dim=1).unique().numel() == 64  # distinct vectors
    if family == 'flex':
        assert torch.allclose(codebook.norm(dim=1), torch.ones(64), atol=1e-5)


@pytest.mark.parametrize('family', FAMILIES)
def test_kmeans_fits_the_vectors_better_than_its_start(family):
    normalized = family == 'flex'
    errors = {}
    for method in ('sample', 'kmeans'):
        model, batch, vectors = _setup(family)  # the same model and vectors for both
        CodebookInitHook(method=method, seed=3).before_train_iter(
            SimpleNamespace(model=model, iter=0), 0, batch)
        errors[method] = _quantisation_error(vectors, model.codebook.weight.detach(), normalized)
    assert errors['kmeans'] < 0.9 * errors['sample']


@pytest.mark.parametrize('family', FAMILIES)
def test_later_iterations_keep_the_codebook(family):
    model, batch, _ = _setup(family)
    before = model.codebook.weight.detach().clone()
    CodebookInitHook().before_train_iter(SimpleNamespace(model=model, iter=1), 1, batch)
    assert torch.equal(model.codebook.weight, before)


@pytest.mark.parametrize('family', FAMILIES)
def test_resumed_run_is_not_initialised_again(tmp_path, family):
    hooks = [dict(type='CodebookInitHook', method='kmeans', seed=1)]
    train(tmp_path / 'whole', family, hooks)
    train(tmp_path / 'resumed', family, hooks, resume_from=tmp_path / 'whole' / 'epoch_1.pth')
    assert_same_weights(tmp_path / 'whole' / 'epoch_2.pth', tmp_path / 'resumed' / 'epoch_2.pth')
    assert log_text(tmp_path / 'whole').count('CodebookInitHook: 64 codes from') == 1
    assert 'CodebookInitHook: 64 codes from' not in log_text(tmp_path / 'resumed')
    # the initialisation changed the run: without it the first epoch trains other weights
    train(tmp_path / 'plain', family, [], max_epochs=1)
    key = 'tokenizer.quantize.embedding.weight'
    assert not torch.equal(weights(tmp_path / 'plain' / 'epoch_1.pth')[key],
                           weights(tmp_path / 'whole' / 'epoch_1.pth')[key])


def test_rejects_unknown_method():
    with pytest.raises(ValueError, match="method must be one of"):
        CodebookInitHook(method='random')
