"""FlexVAR/SAR -> sar_mm conversion: release layouts, corrupted inputs and the CLI."""
import json
import os
import sys
import types
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from script_loading import load_script

from sar_mm.models.backbones import FlexVARTransformer
from sar_mm.models.converters.flexvar import convert_flexvar_checkpoints
from sar_mm.models.tokenizers import FlexVQVAE
from sar_mm.utils import ConversionError
from sar_mm.utils.checkpoint_io import (CheckpointMismatchError, CheckpointReadError,
                                        checkpoint_state_dict, read_state_dict)

CLI = Path(__file__).resolve().parents[2] / 'tools' / 'model_converters' / 'flexvar_to_sarmm.py'


def manifest(official_keys_dir: Path, name: str) -> dict:
    with open(official_keys_dir / f'{name}.json', encoding='utf-8') as f:
        return json.load(f)


def meta_state_dict(man: dict) -> dict:
    """Tensors with exactly the manifest's keys, shapes and dtypes, without storage."""
    return {k: torch.empty(shape, dtype=getattr(torch, dtype), device='meta')
            for k, (shape, dtype) in man['keys'].items()}


def strip(state_dict: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}


@pytest.fixture(scope='module')
def flexvae_manifest(official_keys_dir):
    return manifest(official_keys_dir, 'flexvae')


@pytest.mark.parametrize('name', ['flexvar_d16', 'flexvar_d20', 'flexvar_d24'])
def test_release_layouts_convert_and_load_strictly(official_keys_dir, flexvae_manifest, name):
    man = manifest(official_keys_dir, name)
    # the nesting of the released files: ckpt['trainer']['var_wo_ddp'] and FlexVAE ['model']
    transformer_file = dict(epoch=179, trainer=dict(var_wo_ddp=meta_state_dict(man)))
    tokenizer_file = dict(model=meta_state_dict(flexvae_manifest))
    out = convert_flexvar_checkpoints(checkpoint_state_dict(transformer_file, 'SARd-epo179.pth'),
                                      checkpoint_state_dict(tokenizer_file, 'FlexVAE.pth'))
    sd, meta = out['state_dict'], out['meta']
    assert set(sd) == ({f'backbone.{k}' for k in man['keys'] if k != 'attn_bias_for_masking'}
                       | {f'tokenizer.{k}' for k in flexvae_manifest['keys']})
    assert meta['dropped_keys'] == ['attn_bias_for_masking']
    assert meta['backbone']['depth'] == man['depth']
    with torch.device('meta'):
        backbone = FlexVARTransformer(depth=man['depth'], num_classes=man['num_classes'],
                                      vocab_size=man['vocab'], cvae=man['Cvae'])
        tokenizer = FlexVQVAE(ch=128, z_channels=256, ch_mult=(1, 1, 2, 2, 4), num_res_blocks=2,
                              vocab_size=8912, embed_dim=32)
    backbone.load_state_dict(strip(sd, 'backbone.'), strict=True, assign=True)
    tokenizer.load_state_dict(strip(sd, 'tokenizer.'), strict=True, assign=True)
    assert sum(p.numel() for p in backbone.parameters()) == man['total_parameters']
    assert sum(p.numel() for p in tokenizer.parameters()) == flexvae_manifest['total_parameters']
    assert backbone.embed_dim == man['embed_dim'] and backbone.num_heads == man['num_heads']
    assert backbone.drop_path_rate == pytest.approx(man['drop_path_rate'])
    # the buffers the official file carries (besides the mask) are kept
    kept = {b for b in man['buffers_in_state_dict'] if b != 'attn_bias_for_masking'}
    assert {f'backbone.{b}' for b in kept} <= set(sd)
    assert 'tokenizer.quantize.codebook_used' in sd


@pytest.fixture
def d16_pair(official_keys_dir, flexvae_manifest):
    return meta_state_dict(manifest(official_keys_dir, 'flexvar_d16')), meta_state_dict(
        flexvae_manifest)


def test_missing_key_is_named(d16_pair):
    transformer, tokenizer = d16_pair
    del transformer['blocks.3.ffn.fc1.bias']
    with pytest.raises(ConversionError, match=r'missing keys: backbone\.blocks\.3\.ffn\.fc1\.bias'):
        convert_flexvar_checkpoints(transformer, tokenizer)


def test_unknown_key_is_named(d16_pair):
    transformer, tokenizer = d16_pair
    transformer['lvl_embed.weight'] = torch.empty(10, 1024, device='meta')  # a VAR key
    with pytest.raises(ConversionError, match=r'matched by no conversion rule.*lvl_embed\.weight'):
        convert_flexvar_checkpoints(transformer, tokenizer)


def test_extra_key_within_the_rules_is_named(d16_pair):
    transformer, tokenizer = d16_pair
    tokenizer['encoder.conv_blocks.0.res.0.extra.weight'] = torch.empty(3, device='meta')
    with pytest.raises(ConversionError,
                       match=r'unexpected keys: tokenizer\.encoder\.conv_blocks\.0\.res\.0\.extra'):
        convert_flexvar_checkpoints(transformer, tokenizer)


def test_wrong_shape_is_named(d16_pair):
    transformer, tokenizer = d16_pair
    transformer['blocks.2.attn.q_bias'] = torch.empty(1000, device='meta')
    with pytest.raises(ConversionError, match=r'backbone\.blocks\.2\.attn\.q_bias: checkpoint '
                       r'\(1000,\) vs model \(1024,\)'):
        convert_flexvar_checkpoints(transformer, tokenizer)


def test_mismatched_pair_and_wrong_family(d16_pair):
    transformer, tokenizer = d16_pair
    tokenizer['quantize.embedding.weight'] = torch.empty(4096, 32, device='meta')
    with pytest.raises(ConversionError, match='do not belong together'):
        convert_flexvar_checkpoints(transformer, tokenizer)
    with pytest.raises(ConversionError, match='blocks.N'):
        convert_flexvar_checkpoints(tokenizer, tokenizer)
    transformer['pos_1LC'] = torch.empty(1, 680, 1024, device='meta')  # VAR's (1, L, C) table
    with pytest.raises(ConversionError, match='var_to_sarmm'):
        convert_flexvar_checkpoints(transformer, tokenizer)


def test_files_that_are_not_checkpoints(tmp_path):
    text = tmp_path / 'notes.pth'
    text.write_text('this is not a checkpoint')
    for trust in (False, True):
        with pytest.raises(CheckpointReadError, match='notes.pth is not a checkpoint: '):
            read_state_dict(str(text), trust)
    with pytest.raises(FileNotFoundError, match='absent.pth not found'):
        read_state_dict(str(tmp_path / 'absent.pth'))
    torch.save([torch.zeros(1)], tmp_path / 'list.pth')
    with pytest.raises(CheckpointMismatchError, match='list.pth holds a list'):
        read_state_dict(str(tmp_path / 'list.pth'))
    torch.save(dict(trainer=dict(config={})), tmp_path / 'trainer.pth')
    with pytest.raises(CheckpointMismatchError, match=r"trainer.pth has no state dict of tensors"
                       r".*\['trainer'\]\['var_wo_ddp'\]"):
        read_state_dict(str(tmp_path / 'trainer.pth'))


def save_training_checkpoint(path: Path, state_dict: dict) -> None:
    """An official-style training checkpoint whose ``args`` class is not importable."""
    module = types.ModuleType('official_flexvar_arg_util')

    Args = type('Args', (), {'__module__': module.__name__})
    module.Args = Args
    args = Args()
    args.depth, args.tblr = 2, 1e-4
    sys.modules[module.__name__] = module
    try:
        torch.save(dict(epoch=3, iter=0, args=args,
                        trainer=dict(var_wo_ddp=state_dict, config={})), path)
    finally:
        del sys.modules[module.__name__]


def load_cli():
    return load_script(CLI, 'flexvar_to_sarmm')


def test_cli_end_to_end_on_the_small_fixture(tmp_path, reference_dir, flexvar_small):
    var = torch.load(reference_dir / 'flexvar_small.pt', map_location='cpu', weights_only=True)
    vae = torch.load(reference_dir / 'flexvae_small.pt', map_location='cpu', weights_only=True)
    transformer_path, tokenizer_path = tmp_path / 'SARd2-epo3.pth', tmp_path / 'FlexVAE.pth'
    save_training_checkpoint(transformer_path, var['state_dict'])
    torch.save(dict(model=vae['state_dict']), tokenizer_path)
    out_path = tmp_path / 'out' / 'converted.pth'
    cli = load_cli()

    with pytest.raises(CheckpointReadError, match=r'official_flexvar_arg_util\.Args.*'
                       r'pass --trust-checkpoint'):
        read_state_dict(str(transformer_path))
    assert cli.main([str(transformer_path), str(tokenizer_path), str(out_path)]) == 1
    assert not out_path.exists()
    noise = tmp_path / 'noise.pth'
    noise.write_bytes(bytes(range(256)))
    assert cli.main([str(noise), str(tokenizer_path), str(out_path), '--trust-checkpoint']) == 1
    assert not out_path.exists()

    argv = [str(transformer_path), str(tokenizer_path), str(out_path), '--trust-checkpoint']
    assert cli.main(argv) == 0
    ckpt = torch.load(out_path, map_location='cpu', weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'}
    meta = ckpt['meta']
    assert meta['sources'] == dict(transformer='SARd2-epo3.pth', tokenizer='FlexVAE.pth')
    model = nn.Module()
    model.backbone = FlexVARTransformer(
        **{k: v for k, v in meta['backbone'].items() if k != 'type'})
    model.tokenizer = FlexVQVAE(**{k: v for k, v in meta['tokenizer'].items() if k != 'type'})
    model.load_state_dict(ckpt['state_dict'], strict=True)
    for key, value in var['state_dict'].items():
        if key != 'attn_bias_for_masking':
            assert torch.equal(ckpt['state_dict'][f'backbone.{key}'], value)
    for key, value in vae['state_dict'].items():
        assert torch.equal(ckpt['state_dict'][f'tokenizer.{key}'], value)
    # the same weights as the session fixture, which the parity tests use
    for key, value in flexvar_small['backbone'].state_dict().items():
        assert torch.equal(model.backbone.state_dict()[key], value)


def test_cli_interrupted_write_keeps_the_previous_output(tmp_path, reference_dir, monkeypatch):
    """A conversion killed while writing leaves the file that was there, not a truncated one."""
    var = torch.load(reference_dir / 'flexvar_small.pt', map_location='cpu', weights_only=True)
    vae = torch.load(reference_dir / 'flexvae_small.pt', map_location='cpu', weights_only=True)
    transformer_path, tokenizer_path = tmp_path / 'FlexVARd2.pth', tmp_path / 'FlexVAE.pth'
    torch.save(var['state_dict'], transformer_path)
    torch.save(dict(model=vae['state_dict']), tokenizer_path)
    out_path = tmp_path / 'converted.pth'
    out_path.write_bytes(b'the converted file of an earlier run')

    def interrupted_save(obj, f, *args, **kwargs):
        if isinstance(f, (str, os.PathLike)):  # a write into the destination itself
            f = open(f, 'wb')
        f.write(b'PK\x03\x04 the first bytes')
        f.flush()
        raise KeyboardInterrupt  # as a kill in the middle of the write

    monkeypatch.setattr(torch, 'save', interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        load_cli().main([str(transformer_path), str(tokenizer_path), str(out_path)])
    assert out_path.read_bytes() == b'the converted file of an earlier run'
    assert not list(tmp_path.glob('.*.partial'))


def test_official_trainer_checkpoint_converts_without_the_trust_flag(tmp_path, reference_dir,
                                                                      flexvar_small):
    """Saved as the official trainer saves it (``args.state_dict()``: plain values, an optimizer
    state of tensors and numbers), the file loads with ``weights_only=True`` (README)."""
    var = torch.load(reference_dir / 'flexvar_small.pt', map_location='cpu', weights_only=True)
    vae = torch.load(reference_dir / 'flexvae_small.pt', map_location='cpu', weights_only=True)
    transformer_path, tokenizer_path = tmp_path / 'FlexVARd2-epo3.pth', tmp_path / 'FlexVAE.pth'
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))], lr=1e-4)
    args = dict(depth=2, tblr=1e-4, pn='1_2_3_4', cmd='train.py --depth=2', fp16=1, tf32=True,
                local_out_dir_path='/tmp/out', acc_mean=None, grad_clip=2.0)
    torch.save({'epoch': 3, 'iter': 0, 'args': args,
                'trainer': dict(var_wo_ddp=var['state_dict'], config={'lr': 1e-4},
                                var_opt=dict(optim=optimizer.state_dict(), scaler=None))},
               transformer_path)
    torch.save(dict(model=vae['state_dict']), tokenizer_path)
    out_path = tmp_path / 'converted.pth'
    assert load_cli().main([str(transformer_path), str(tokenizer_path), str(out_path)]) == 0
    converted = torch.load(out_path, map_location='cpu', weights_only=True)
    assert set(converted) == {'state_dict', 'meta'}
