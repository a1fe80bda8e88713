"""tools/analysis_tools/gpu_check.sh: the CPU smoke run's report and the per-part time limit."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from script_loading import load_script

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / 'tools' / 'analysis_tools' / 'gpu_check.sh'


@pytest.fixture(scope='module')
def tool():
    return load_script(REPO_ROOT / 'tools' / 'analysis_tools' / 'gpu_check.py', 'gpu_check')


def numbers(tree, path=''):
    """(path, value) of every int / float leaf of a JSON tree (booleans excluded)."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from numbers(value, f'{path}.{key}')
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from numbers(value, f'{path}[{i}]')
    elif isinstance(tree, (int, float)) and not isinstance(tree, bool):
        yield path, tree


def check_train(entry: dict) -> None:
    assert entry['s_per_step']['median'] > 0 and entry['images_per_s'] > 0
    assert entry['peak_memory_bytes'] > 0 and entry['params'] > 0
    assert entry['optimizer_state_bytes'] > 0  # AdamW stepped: its state is in the peak
    assert entry['tokens'] == sum(pn * pn for pn in entry['patch_nums'])
    # timed by sar_mm.benchmarking: the transformer's FLOPs and the share of the matmul peak
    assert entry['flops'] > 0 and entry['matmul_peak_flops_per_s'] > 0
    assert entry['peak_fraction'] == pytest.approx(
        entry['flops'] / entry['s_per_step']['median'] / entry['matmul_peak_flops_per_s'])


def test_cpu_smoke_writes_one_report_with_every_part(tmp_path):
    out = tmp_path / 'report' / 'gpu_check.json'
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'OUT')}
    env['PYTHON'] = sys.executable  # the script puts the checkout on PYTHONPATH itself
    done = subprocess.run(['bash', str(SCRIPT), '--cpu-smoke', '--out', str(out)], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report['mode'] == 'cpu_smoke' and report['total_wall_s'] > 0
    assert {'torch', 'cuda', 'device', 'device_name', 'git_commit'} <= set(report['environment'])
    parts = report['parts']
    assert list(parts) == ['train_d16', 'memory', 'sample', 'fid100']
    for name, part in parts.items():
        assert part['status'] == 'ok' and 0 < part['wall_s'] <= part['limit_s'], name
    for path, value in numbers(report):
        assert math.isfinite(value), path

    train = parts['train_d16']
    for name in ('tf', 'sar'):
        check_train(train[name])
    assert train['sar_over_tf'] > 0
    assert {'d20', 'd24', 'd30'} <= set(parts['memory'])
    for name in ('d20', 'd24', 'd30'):
        check_train(parts['memory'][name])
    assert parts['memory']['d30']['options'] == {'model.backbone.depth': 30}

    sample = parts['sample']
    variants = [f'{p}_batch_invariant_{b}' for p in ('exact', 'official') for b in ('true',
                                                                                    'false')]
    for name in variants:
        assert sample[name]['images_per_s'] > 0 and sample[name]['peak_memory_bytes'] > 0
        assert sample[name]['flops'] > 0 and sample[name]['peak_fraction'] > 0
    # per-row generators: the batched fp32 samples are the per-sample ones (on a CPU)
    assert sample['identical_to_exact_batch_invariant']['exact_batch_invariant_false'] == 1.0
    # 'official' on a CPU: the precision policy, never fp16
    assert sample['official_batch_invariant_false']['test_cfg']['precision'] == 'auto'

    fid = parts['fid100']
    assert fid['npz_shape'][0] == fid['images'] and fid['npz_shape'][-1] == 3
    assert fid['metrics']['fidelity/frechet_inception_distance'] >= 0
    assert fid['tool_wall_s'] > 0 and 'not Inception' in fid['note']


def test_a_part_past_its_limit_is_killed_and_the_budget_bounds_the_rest(tool, tmp_path):
    out = tmp_path / 'gpu_check.json'
    rc = tool.main(['--cpu-smoke', '--parts', 'sample,fid100', '--budget-s', '1.5', '--out',
                    str(out)])
    report = json.loads(out.read_text())
    assert rc == 1
    first, second = report['parts']['sample'], report['parts']['fid100']
    assert first['status'] == 'timeout' and first['limit_s'] == pytest.approx(1.5, abs=0.1)
    assert first['wall_s'] < 10  # killed, not waited for
    assert second == dict(status='timeout', wall_s=0.0, limit_s=0.0,
                          log_tail='the budget was spent before this part')
    assert report['total_wall_s'] < 10


def test_unknown_parts_are_refused(tool):
    with pytest.raises(SystemExit):
        tool.parse_args(['--parts', 'train_d16,bench'])
