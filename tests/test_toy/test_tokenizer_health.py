"""The tokenizer stage's results: the last logged codebook window and the held-out PSNR."""
import json
from pathlib import Path

from script_loading import load_script

from sar_mm.toy.stages import tokenizer_health

RUN_TOY = Path(__file__).resolve().parents[2] / 'tools' / 'run_toy.py'


def test_last_window_and_reconstruction_file(tmp_path):
    vis = tmp_path / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    rows = [dict(iter=10, loss=1.0, **{'codebook/usage': 20.0, 'codebook/perplexity': 90.0,
                                       'codebook/dead_codes': 410}),
            dict(iter=20, loss=0.9, **{'codebook/usage': 30.0, 'codebook/perplexity': 120.0,
                                       'codebook/dead_codes': 358}),
            dict(iter=25, loss=0.8),
            {'heldout/psnr_8': 23.0, 'step': 25}]
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in rows))
    rec = dict(patch_nums=[1, 8], num_images=4, mse=[0.1, 0.01], psnr=[10.0, 20.0])
    (tmp_path / 'reconstruction.json').write_text(json.dumps(rec))
    assert tokenizer_health(tmp_path) == dict(
        codebook=dict(iter=20, usage=30.0, perplexity=120.0, dead_codes=358),
        reconstruction=rec)


def test_stage_without_the_hooks(tmp_path):
    assert tokenizer_health(tmp_path) == dict(codebook=None, reconstruction=None)


def test_results_md_line():
    lines = load_script(RUN_TOY, 'run_toy')._tokenizer_lines(dict(
        codebook=dict(iter=600, usage=27.34, perplexity=101.6, dead_codes=372),
        reconstruction=dict(patch_nums=[4, 8], num_images=512, mse=[0.02, 0.005],
                            psnr=[17.0, 23.21])))
    assert lines == ['Tokenizer: codebook usage 27.3 %, perplexity 102, 372 dead codes '
                     '(window ending at iteration 600); PSNR of 512 held-out shapes per scale: '
                     '4: 17.00 dB, 8: 23.21 dB.', '']
    assert load_script(RUN_TOY, 'run_toy')._tokenizer_lines(
        dict(codebook=None, reconstruction=None)) == []
