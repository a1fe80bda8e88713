"""tools/analysis_tools/benchmark.py on a tiny config: a well-formed report (not speed)."""
import json
from pathlib import Path

import pytest
from script_loading import load_script

from sar_mm.benchmarking import (TRAIN_FLOPS_MULTIPLIER, TransformerDims, VQ16Dims,
                                 sampling_flops, sar_step_flops, teacher_forcing_flops,
                                 vq16_decode_flops, vq16_encode_flops)
from sar_mm.models.generators.scale_wise_ar import ScaleWiseAR
from sar_mm.utils import precision as precision_module
from sar_mm.utils.cpu_bf16 import CpuBf16Decision
from sar_mm.utils.precision import resolve_precision

TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools' / 'benchmark.py'

TINY_CONFIG = """
model = dict(
    type='ScaleWiseAR',
    tokenizer=dict(type='FlexVQVAE', ch=32, z_channels=32, ch_mult=(1, 1, 2), num_res_blocks=1,
                   vocab_size=32, embed_dim=4, usage_buffer_size=64),
    backbone=dict(type='FlexVARTransformer', depth=1, num_classes=10, vocab_size=32, cvae=4,
                  pos_grid_size=4, mask_cache_size=4),
    rollout=dict(type='{rollout}'),
    loss=dict(type='{loss}'),
    scale_schedule=dict(type='FixedScaleSchedule', patch_nums=(1, 2, 4)),
    test_cfg=dict(patch_nums=(1, 2, 4), cfg=2.0, top_k=8, top_p=0.9),
)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.95), weight_decay=0.05))
"""
# the tiny config's shapes, written out from the config above
DIMS = TransformerDims(embed_dim=64, depth=1, ffn_dim=256, vocab_size=32, cvae=4, cond_dim=64)
VAE = VQ16Dims(ch=32, ch_mult=(1, 1, 2), num_res_blocks=1, z_channels=32, embed_dim=4,
               vocab_size=32)
PNS = [1, 2, 4]


@pytest.fixture(scope='module')
def tool():
    return load_script(TOOL, 'benchmark')


def write_config(tmp_path: Path, rollout: str, loss: str) -> str:
    path = tmp_path / f'tiny_{rollout.lower()}.py'
    path.write_text(TINY_CONFIG.format(rollout=rollout, loss=loss))
    return str(path)


def check_phase(phase: dict, batch: int, iters: int) -> None:
    t = phase['time_s']
    assert len(t['samples']) == iters and t['min'] <= t['median'] <= t['max'] and t['min'] > 0
    assert phase['items_per_s'] == pytest.approx(batch / t['median'])
    assert phase['peak_memory_bytes'] > 0
    if phase['flops'] is not None:
        assert phase['flops_per_s'] == pytest.approx(phase['flops'] / t['median'])


def test_sar_config_report_is_well_formed(tool, tmp_path, capsys):
    config = write_config(tmp_path, 'StaggerScaleRollout', 'ContrastiveStudentForcingLoss')
    out = tmp_path / 'out' / 'bench.json'
    tool.main([config, '--iters', '3', '--warmup', '0', '--peak-size', '64', '--batch-size', '2',
               '--json', str(out)])
    report = json.loads(out.read_text())
    assert report['patch_nums'] == PNS and report['num_tokens'] == 21
    # no --dtype: the precision policy's choice for this CPU, recorded in the report
    auto = resolve_precision('auto', 'cpu').name
    assert report['image_size'] == 16 and report['dtype'] == auto
    assert report['dtype_requested'] == 'auto' and report['precision_reason'].startswith('auto')
    assert report['matmul_peak']['size'] == 64 and report['matmul_peak']['flops_per_s'] > 0
    phases = report['phases']
    assert set(phases) == {'train_tf', 'train_sar', 'sample', 'tokenizer_encode',
                           'tokenizer_decode'}
    for phase in phases.values():
        check_phase(phase, 2, 3)
        assert phase['dtype'] == auto
    # the config's rollout is SAR's; the TF step uses teacher forcing
    assert phases['train_sar']['rollout']['type'] == 'StaggerScaleRollout'
    assert phases['train_sar']['rollout']['rollout_cfg'] == 1.2
    assert phases['train_tf']['rollout']['type'] == 'TeacherForcing'
    assert phases['train_tf']['flops'] == 2 * TRAIN_FLOPS_MULTIPLIER * teacher_forcing_flops(
        DIMS, PNS)
    assert phases['train_sar']['flops'] == 2 * sar_step_flops(DIMS, PNS, (2, ), 'markov', True)
    assert phases['sample']['flops'] == 2 * (sampling_flops(DIMS, PNS)
                                             + vq16_decode_flops(VAE, 4))
    assert phases['tokenizer_encode']['flops'] == 2 * vq16_encode_flops(VAE, 16, PNS)
    assert phases['train_tf']['optimizer'] == phases['train_sar']['optimizer'] == 'AdamW'
    # TF and SAR steps alternate; the ratio is the median of the per-round ratios
    rounds = [sar / tf for tf, sar in zip(phases['train_tf']['time_s']['samples'],
                                          phases['train_sar']['time_s']['samples'])]
    assert report['sar_over_tf_rounds'] == pytest.approx(rounds)
    assert report['sar_over_tf'] == pytest.approx(sorted(rounds)[1])
    table = capsys.readouterr().out
    assert 'train_sar' in table and 'SAR step / TF step' in table


def test_tf_config_benchmarks_the_default_sar_recipe_in_bf16(tool, tmp_path):
    config = write_config(tmp_path, 'TeacherForcing', 'ScaleCrossEntropyLoss')
    report = tool.main([config, '--what', 'train', '--dtype', 'bf16', '--iters', '1',
                        '--warmup', '0', '--peak-size', '64', '--batch-size', '1'])
    assert set(report['phases']) == {'train_tf', 'train_sar'}
    assert report['phases']['train_tf']['dtype'] == 'bfloat16'
    sar = report['phases']['train_sar']['rollout']
    assert (sar['type'], sar['sf_scope'], sar['token_selection']) == (
        'StaggerScaleRollout', 'last', 'sample')
    json.dumps(report)  # serialisable without --json too


@pytest.mark.parametrize('native,dtype', [(False, 'float32'), (True, 'bfloat16')])
def test_auto_dtype_follows_the_cpu_and_an_explicit_one_wins(tool, tmp_path, monkeypatch, native,
                                                             dtype):
    monkeypatch.setattr(precision_module, 'cpu_bf16_decision',
                        lambda: CpuBf16Decision(native, 'test'))
    config = write_config(tmp_path, 'TeacherForcing', 'ScaleCrossEntropyLoss')
    common = ['--what', 'tokenizer', '--iters', '1', '--warmup', '0', '--peak-size', '64',
              '--batch-size', '1', '--device', 'cpu']
    assert tool.main([config] + common)['dtype'] == dtype
    report = tool.main([config, '--dtype', 'fp32'] + common)
    assert (report['dtype'], report['dtype_requested']) == ('float32', 'fp32')


def test_bad_arguments_fail(tool, tmp_path):
    config = write_config(tmp_path, 'TeacherForcing', 'ScaleCrossEntropyLoss')
    with pytest.raises(SystemExit):
        tool.parse_args([config, '--what', 'train,speed'])
    with pytest.raises(SystemExit):
        tool.parse_args([config, '--iters', '0'])
    with pytest.raises(ValueError, match='fp16'):
        tool.main([config, '--dtype', 'fp16', '--device', 'cpu', '--peak-size', '64'])


def test_sampling_runs_in_the_requested_precision(tool, tmp_path, monkeypatch):
    """``--dtype bf16`` reaches the sampler (whose fp32 default would switch autocast off)."""
    seen = []
    original = ScaleWiseAR.generate

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get('precision'))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ScaleWiseAR, 'generate', spy)
    config = write_config(tmp_path, 'TeacherForcing', 'ScaleCrossEntropyLoss')
    report = tool.main([config, '--what', 'sample', '--dtype', 'bf16', '--iters', '1',
                        '--warmup', '0', '--peak-size', '64', '--batch-size', '1'])
    assert seen and set(seen) == {'bfloat16'}
    assert report['phases']['sample']['test_cfg']['precision'] == 'bfloat16'


def test_training_phases_run_the_models_own_train_step(tool, tmp_path, monkeypatch):
    """Both training phases call ``ScaleWiseAR.train_step`` with the config's optimizer."""
    calls = []
    original = ScaleWiseAR.train_step

    def spy(self, data, optim_wrapper):
        calls.append((type(self.rollout).__name__, type(optim_wrapper.optimizer).__name__,
                      optim_wrapper.clip_grad_kwargs))
        return original(self, data, optim_wrapper)

    monkeypatch.setattr(ScaleWiseAR, 'train_step', spy)
    config = write_config(tmp_path, 'TeacherForcing', 'ScaleCrossEntropyLoss')
    tool.main([config, '--what', 'train', '--iters', '2', '--warmup', '0', '--peak-size', '64',
               '--batch-size', '1', '--cfg-options', 'optim_wrapper.clip_grad.max_norm=2.0'])
    # one warm-up step per recipe, then 2 rounds of one step each
    clip = dict(max_norm=2.0)
    assert calls == ([('TeacherForcing', 'AdamW', clip)] + [('StaggerScaleRollout', 'AdamW', clip)]
                     + [('TeacherForcing', 'AdamW', clip), ('StaggerScaleRollout', 'AdamW', clip)]
                     * 2)
