"""Activation checkpointing of the blocks (``checkpoint_blocks=True``, issue 22, item 3).

Both backbones, teacher-forced and SAR student-forcing passes, in train mode
with label dropout and drop-path (random draws inside and outside the blocks):
the gradients equal those of the plain model bit for bit in float32, the global
RNG stream continues as in the plain model, the activations kept for backward
shrink, and KV-cached sampling never checkpoints.
"""
import pytest
import torch

import sar_mm.models.backbones.base_backbone as base_module
from sar_mm.models.backbones import FlexVARTransformer, VARTransformer
from sar_mm.testing.tiny_components import perturb_weights

PNS = (1, 2, 3)


def _models(backbone_type):
    """(plain, checkpointed), the same weights, in train mode."""
    extra = dict(pos_grid_size=4) if backbone_type is FlexVARTransformer else dict(patch_nums=PNS)
    kwargs = dict(depth=3, num_classes=10, vocab_size=32, cvae=4, drop_path_rate=0.5,
                  cond_drop_rate=0.5, **extra)
    torch.manual_seed(0)
    plain = backbone_type(**kwargs)
    perturb_weights(plain)
    checkpointed = backbone_type(checkpoint_blocks=True, **kwargs)
    checkpointed.load_state_dict(plain.state_dict())
    return plain.train(), checkpointed.train()


def _run(model, student: bool):
    """Gradients of a random projection of the logits, the bytes of the activations kept
    for backward (storages saved by autograd, parameters excluded), and the global RNG
    state after backward."""
    torch.manual_seed(1)
    labels = torch.tensor([0, 5, 7, 9])
    x = torch.randn(4, 9 if student else 13, 4)
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in params:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    torch.manual_seed(2)  # label dropout and drop-path draw from here
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        logits = (model.forward_student(labels, x, PNS, 2) if student
                  else model(labels, x, PNS))
    projection = torch.randn(logits.shape, generator=torch.Generator().manual_seed(3))
    (logits * projection).sum().backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    return grads, sum(saved.values()), torch.get_rng_state()


@pytest.mark.parametrize('student', [False, True], ids=['teacher_forced', 'student'])
@pytest.mark.parametrize('backbone_type', [VARTransformer, FlexVARTransformer],
                         ids=['var', 'flexvar'])
def test_checkpointed_blocks_give_the_same_gradients_and_keep_fewer_activations(
        backbone_type, student):
    plain, checkpointed = _models(backbone_type)
    plain_grads, plain_bytes, plain_rng = _run(plain, student)
    grads, saved_bytes, rng = _run(checkpointed, student)
    assert plain_grads.keys() == grads.keys()
    for name, grad in plain_grads.items():  # (the student pass leaves pos_start out)
        assert (grads[name] is None) if grad is None else torch.equal(grads[name], grad), name
    assert all(p.grad is not None for p in checkpointed.blocks.parameters())
    assert saved_bytes < plain_bytes / 2, (saved_bytes, plain_bytes)
    assert torch.equal(rng, plain_rng)  # the recomputation replays the draws, takes none


@pytest.mark.parametrize('backbone_type', [VARTransformer, FlexVARTransformer],
                         ids=['var', 'flexvar'])
def test_only_passes_that_record_gradients_checkpoint(monkeypatch, backbone_type):
    calls = []

    def counting_checkpoint(*args, **kwargs):
        calls.append(kwargs)
        return torch.utils.checkpoint.checkpoint(*args, **kwargs)

    monkeypatch.setattr(base_module, 'checkpoint', counting_checkpoint)
    plain, checkpointed = _models(backbone_type)
    plain.eval(), checkpointed.eval()
    labels, x = torch.tensor([1, 2]), torch.randn(2, 13, 4)
    checkpointed(labels, x, PNS).sum().backward()
    assert calls == [dict(use_reentrant=False)] * 3  # one per block
    with torch.no_grad():
        assert torch.equal(checkpointed(labels, x, PNS), plain(labels, x, PNS))
    # KV-cached sampling, even with gradients recorded
    outputs = []
    for model in (plain, checkpointed):
        with model.kv_cache(labels, PNS) as cache:
            outputs.append(cache.step(cache.start()))
    assert torch.equal(outputs[0], outputs[1])
    assert len(calls) == 3
    assert not plain.checkpoint_blocks


def test_checkpoint_blocks_and_compile_blocks_are_exclusive():
    with pytest.raises(ValueError, match='compile_blocks and checkpoint_blocks'):
        FlexVARTransformer(depth=1, vocab_size=8, cvae=4, pos_grid_size=4, compile_blocks=True,
                           checkpoint_blocks=True)
