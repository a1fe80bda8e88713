"""Whether a latent file was made by the tokenizer a generator trains with.

``tools/extract_latents.py`` records :func:`tokenizer_digest` of the tokenizer
that encoded the images (``meta['tokenizer_sha256']`` of the latent file,
:mod:`sar_mm.datasets.latent_dataset`). Latents of another tokenizer quantise
to token maps that the model's tokenizer would never produce or decode, so a
model trained on them learns the wrong codes without any error; this module
compares the two digests.
"""
import hashlib
from typing import Optional

import torch

__all__ = ['tokenizer_digest', 'check_latent_tokenizer']


def tokenizer_digest(tokenizer: torch.nn.Module) -> str:
    """SHA-256 of the tokenizer's state dict (names, dtypes, shapes and values)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(tokenizer.state_dict().items()):
        value = tensor.detach().cpu().contiguous()
        digest.update(f'{name}:{value.dtype}:{tuple(value.shape)}'.encode())
        digest.update(value.view(torch.uint8).numpy().tobytes() if value.numel() else b'')
    return digest.hexdigest()


def check_latent_tokenizer(latent_file: str, meta: dict, tokenizer: torch.nn.Module,
                           weights_from: Optional[str]) -> None:
    """Raise unless the latent file's recorded tokenizer digest is ``tokenizer``'s.

    Args:
        latent_file (str): the file, for the message.
        meta (dict): its ``meta`` (``tokenizer_sha256``, ``checkpoint``).
        tokenizer (nn.Module): the tokenizer of the model being trained, with
            its final weights (after ``load_from`` / resume).
        weights_from (str, optional): where those weights come from (the
            ``load_from`` checkpoint), for the message; ``None``: the model's
            initialisation.

    Raises:
        ValueError: the file has no digest, or another one; the message names
            both digests, both files and the command that writes a fitting file.
    """
    recorded = meta.get('tokenizer_sha256')
    actual = tokenizer_digest(tokenizer)
    if recorded == actual:
        return
    model_side = (f'the model\'s tokenizer (weights from {weights_from})' if weights_from
                  else 'the model\'s tokenizer (its initialisation: no load_from)')
    made_by = meta.get('checkpoint') or 'an unrecorded checkpoint'
    found = (f'records tokenizer sha256 {recorded} (made from {made_by})' if recorded else
             'records no tokenizer digest (written by an older tools/extract_latents.py)')
    raise ValueError(
        f'latent file {latent_file} {found}, but {model_side} has sha256 {actual}: the latents '
        'are not this tokenizer\'s. Write them again with `python tools/extract_latents.py '
        f'CONFIG {weights_from or "TOKENIZER_CHECKPOINT"} --out {latent_file}`, or train with '
        'the tokenizer they were made from (load_from)')
