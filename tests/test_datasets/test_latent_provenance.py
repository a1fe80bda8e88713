"""A latent file's recorded tokenizer digest against the tokenizer a model trains with."""
import re

import pytest
import torch

from sar_mm.datasets import check_latent_tokenizer, tokenizer_digest
from sar_mm.registry import TOKENIZERS


def _tokenizer(seed: int):
    torch.manual_seed(seed)
    return TOKENIZERS.build(dict(type='FlexVQVAE', ch=32, z_channels=32, ch_mult=(1, 1),
                                 num_res_blocks=1, vocab_size=32, embed_dim=4,
                                 usage_buffer_size=8))


def test_the_extracting_tokenizer_passes_another_is_named():
    made_with, other = _tokenizer(0), _tokenizer(1)
    meta = dict(tokenizer_sha256=tokenizer_digest(made_with), checkpoint='tok_a.pth')
    check_latent_tokenizer('latents.npz', meta, made_with, 'tok_a.pth')
    with pytest.raises(ValueError) as error:
        check_latent_tokenizer('latents.npz', meta, other, 'tok_b.pth')
    message = str(error.value)
    for text in ('latent file latents.npz', tokenizer_digest(made_with), '(made from tok_a.pth)',
                 'weights from tok_b.pth', tokenizer_digest(other),
                 'python tools/extract_latents.py CONFIG tok_b.pth --out latents.npz'):
        assert text in message, text
    assert tokenizer_digest(made_with) != tokenizer_digest(other)


def test_a_file_without_a_digest_cannot_be_trusted():
    with pytest.raises(ValueError, match=re.escape('latents.npz records no tokenizer digest')):
        check_latent_tokenizer('latents.npz', dict(), _tokenizer(0), None)
