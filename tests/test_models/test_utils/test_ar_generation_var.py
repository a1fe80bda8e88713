"""KV-cached sampling with VAR: parity with ``VAR.autoregressive_infer_cfg`` (``var_small``).

The official call returns ``(img + 1) / 2`` in [0, 1]; sar_mm tokenizers decode to
[-1, 1], so the fixture image is compared after that mapping.
"""
import json

import pytest
import torch
import torch.nn as nn

from sar_mm.models.converters.var import convert_var_checkpoints
from sar_mm.models.utils import SamplingConfig, autoregressive_generate
from sar_mm.registry import BACKBONES, TOKENIZERS


@pytest.fixture(scope='module')
def ref(reference_dir):
    data = torch.load(reference_dir / 'var_small.pt', map_location='cpu', weights_only=True)
    data['config'] = json.loads((reference_dir / 'var_small.json').read_text())['config']
    return data


@pytest.fixture(scope='module')
def generator_modules(ref):
    """Backbone and tokenizer of the fixture, converted and loaded with ``strict=True``."""
    ckpt = convert_var_checkpoints(ref['var_state_dict'], ref['vqvae_state_dict'],
                                   patch_nums=ref['patch_nums'])
    model = nn.Module()
    model.backbone = BACKBONES.build(ckpt['meta']['backbone'])
    model.tokenizer = TOKENIZERS.build(ckpt['meta']['tokenizer'])
    model.load_state_dict(ckpt['state_dict'], strict=True)
    return model.eval()


@pytest.mark.parametrize('name', ['ar_idx_per_scale', 'ar_cfg_logits_per_scale', 'ar_img'])
def test_ar_parity_with_official(parity_rows, name):
    """``VAR.autoregressive_infer_cfg`` (rows of ``sar_mm.testing.check_var_small``)."""
    row = parity_rows('var_small')[name]
    assert row.passed, row


def test_greedy_sampling_matches_teacher_forcing(generator_modules, ref):
    """Tokens and logits of cached sampling equal a teacher-forced pass over those tokens."""
    backbone, tokenizer = generator_modules.backbone, generator_modules.tokenizer
    pns = ref['patch_nums']
    labels = torch.tensor([5, 999, 1000])
    out = autoregressive_generate(backbone, tokenizer, labels,
                                  SamplingConfig(patch_nums=pns, cfg=0.0, greedy=True),
                                  return_logits=True, return_scale_images=True)
    with torch.no_grad():
        x = tokenizer.idx_to_next_inputs(out.idx_per_scale, pns)
        tf_logits = backbone(labels, x, pns)
    torch.testing.assert_close(torch.cat(out.logits_per_scale, dim=1), tf_logits, atol=1e-4,
                               rtol=1e-4)
    assert torch.equal(torch.cat(out.idx_per_scale, dim=1), tf_logits.argmax(-1))
    assert len(out.scale_images) == len(pns)
    assert torch.equal(out.scale_images[-1], out.image)
