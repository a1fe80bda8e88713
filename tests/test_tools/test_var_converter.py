"""VAR release converter: official key layouts, corrupted checkpoints and the CLI."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from script_loading import load_script

from sar_mm.models.converters.var import VAR_RULES, convert_var_checkpoints
from sar_mm.models.utils.scale_layout import CANONICAL_PATCH_NUMS
from sar_mm.registry import BACKBONES, TOKENIZERS
from sar_mm.utils import ConversionError, convert_state_dict
from sar_mm.utils.checkpoint_io import read_state_dict

REPO_ROOT = Path(__file__).resolve().parents[2]
CLI = REPO_ROOT / 'tools' / 'model_converters' / 'var_to_sarmm.py'


def _meta_state_dict(manifest: dict) -> dict:
    """A state dict with exactly the manifest's keys, shapes and dtypes (no memory)."""
    return {k: torch.empty(shape, dtype=getattr(torch, dtype), device='meta')
            for k, (shape, dtype) in manifest['keys'].items()}


def _build_meta(meta: dict) -> nn.Module:
    model = nn.Module()
    with torch.device('meta'):
        model.backbone = BACKBONES.build(meta['backbone'])
        model.tokenizer = TOKENIZERS.build(meta['tokenizer'])
    return model


@pytest.fixture(scope='module')
def vqvae_manifest(official_keys_dir):
    return json.loads((official_keys_dir / 'var_vqvae_ch160v4096z32.json').read_text())


@pytest.fixture(scope='module')
def d16_manifest(official_keys_dir):
    return json.loads((official_keys_dir / 'var_d16.json').read_text())


@pytest.mark.parametrize('depth', [16, 20, 24, 30])
def test_release_layouts_convert_and_load_strict(depth, official_keys_dir, vqvae_manifest):
    manifest = json.loads((official_keys_dir / f'var_d{depth}.json').read_text())
    ckpt = convert_var_checkpoints(_meta_state_dict(manifest), _meta_state_dict(vqvae_manifest))
    meta = ckpt['meta']
    assert meta['backbone']['depth'] == depth
    assert tuple(meta['backbone']['patch_nums']) == CANONICAL_PATCH_NUMS
    assert meta['backbone']['num_classes'] == manifest['num_classes']
    assert meta['tokenizer']['ch'] == 160 and meta['tokenizer']['share_quant_resi'] == 4
    assert set(meta['dropped_keys']) == {'attn_bias_for_masking', 'lvl_1L',
                                         'quantize.ema_vocab_hit_SV'}
    model = _build_meta(meta)
    result = model.load_state_dict(ckpt['state_dict'], strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert model.backbone.embed_dim == manifest['embed_dim']
    assert model.backbone.num_heads == manifest['num_heads']
    assert sum(p.numel() for p in model.backbone.parameters()) == manifest['total_parameters']
    assert (sum(p.numel() for p in model.tokenizer.parameters())
            == vqvae_manifest['total_parameters'])


def test_rules_match_each_release_key_once(d16_manifest):
    out = convert_state_dict(_meta_state_dict(d16_manifest), VAR_RULES)
    assert len(out) == len(d16_manifest['keys']) - 2
    assert all(k.startswith('backbone.') for k in out)


@pytest.mark.parametrize('corruption,message', [
    ('remove', 'missing keys: backbone.blocks.3.attn.q_bias'),
    ('extra_unknown', 'matched by no conversion rule.*blocks.0.attn.extra_gate'),
    ('extra_in_rules', 'unexpected keys: tokenizer.encoder.down.9.block.0.conv1.weight'),
    ('shape', r'shape mismatches: backbone.head.bias: checkpoint \(4095,\) vs model \(4096,\)'),
    ('swapped', 'matched by no conversion rule .is this the right checkpoint family'),
])
def test_corrupted_checkpoints_name_the_problem(corruption, message, d16_manifest,
                                                vqvae_manifest):
    var_sd = _meta_state_dict(d16_manifest)
    vqvae_sd = _meta_state_dict(vqvae_manifest)
    if corruption == 'remove':
        del var_sd['blocks.3.attn.q_bias']
    elif corruption == 'extra_unknown':
        var_sd['blocks.0.attn.extra_gate'] = torch.empty(3, device='meta')
    elif corruption == 'extra_in_rules':
        vqvae_sd['encoder.down.9.block.0.conv1.weight'] = torch.empty(3, device='meta')
    elif corruption == 'shape':
        var_sd['head.bias'] = torch.empty(4095, device='meta')
    elif corruption == 'swapped':
        var_sd, vqvae_sd = vqvae_sd, var_sd
    with pytest.raises(ConversionError, match=message):
        convert_var_checkpoints(var_sd, vqvae_sd)


def test_wrong_schedule_is_refused(d16_manifest, vqvae_manifest):
    with pytest.raises(ConversionError, match='does not fit the checkpoint'):
        convert_var_checkpoints(_meta_state_dict(d16_manifest), _meta_state_dict(vqvae_manifest),
                                patch_nums=(1, 2, 3, 4))




def _run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, str(CLI), *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_end_to_end_on_small_model(tmp_path, reference_dir):
    ref = torch.load(reference_dir / 'var_small.pt', map_location='cpu', weights_only=True)
    var_path, vqvae_path, out = tmp_path / 'var.pth', tmp_path / 'vae.pth', tmp_path / 'o.pth'
    torch.save(ref['var_state_dict'], var_path)
    torch.save(ref['vqvae_state_dict'], vqvae_path)
    pns = [str(pn) for pn in ref['patch_nums']]
    proc = _run_cli(str(var_path), str(vqvae_path), str(out), '--patch-nums', *pns)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ckpt = torch.load(out, map_location='cpu', weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'}
    model = nn.Module()
    model.backbone = BACKBONES.build(ckpt['meta']['backbone'])
    model.tokenizer = TOKENIZERS.build(ckpt['meta']['tokenizer'])
    model.load_state_dict(ckpt['state_dict'], strict=True)
    model.eval()
    with torch.no_grad():
        logits = model.backbone(ref['label_B'], ref['x_BLCv_wo_first_l'], ref['patch_nums'])
    torch.testing.assert_close(logits, ref['logits_tf'], atol=1e-4, rtol=1e-4)



@pytest.mark.parametrize('trust', [[], ['--trust-checkpoint']])
def test_cli_reports_failures(tmp_path, trust):
    text = tmp_path / 'var.pth'
    text.write_text('not a checkpoint')
    out = tmp_path / 'out.pth'
    proc = _run_cli(str(text), str(text), str(out), *trust)
    assert proc.returncode == 1
    assert f'conversion failed: {text} is not a checkpoint: ' in proc.stdout + proc.stderr
    assert '--trust-checkpoint' not in proc.stdout + proc.stderr
    nested = tmp_path / 'nested.pth'
    torch.save(dict(model=dict(w=torch.zeros(1)), epoch=3), nested)
    tool = load_script(CLI, 'var_to_sarmm')
    assert tool.main([str(nested), str(nested), str(out), *trust]) == 1
    with pytest.raises(ConversionError, match=r'matched by no conversion rule.*: w'):
        convert_var_checkpoints(read_state_dict(str(nested)), read_state_dict(str(nested)))
    assert not out.exists()
