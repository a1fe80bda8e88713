"""tools/analysis_tools/activation_memory.py: the profiler peak of known allocations, and the
two variants of a tiny backbone."""
from pathlib import Path

import torch
from script_loading import load_script

from sar_mm.models.backbones import FlexVARTransformer

TOOL = load_script(Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools' /
                   'activation_memory.py', 'activation_memory')
MIB = 2**20


def test_peak_counts_what_is_alive_at_once():
    kept = []

    def step():
        kept.append(torch.ones(MIB // 4))  # 1 MiB, alive after the step
        for _ in range(3):
            temporary = torch.ones(2 * MIB // 4)  # 2 MiB, freed at once
            del temporary

    peak = TOOL.profiled_peak_bytes(step)
    assert 3 * MIB <= peak < 3 * MIB + 4096
    assert TOOL.profiled_peak_bytes(lambda: None) == 0  # earlier sessions do not count


def test_checkpointed_variant_keeps_fewer_activations():
    results = {}
    for checkpoint_blocks in (False, True):
        torch.manual_seed(0)
        backbone = FlexVARTransformer(depth=2, vocab_size=32, cvae=4, pos_grid_size=16,
                                      checkpoint_blocks=checkpoint_blocks).train()
        results[checkpoint_blocks] = TOOL.measure(backbone, (1, 2, 4, 8, 16), batch_size=2,
                                                  dtype=None, repeats=1)
    plain, checkpointed = results[False], results[True]
    assert 0 < checkpointed['kept'] < plain['kept'] / 2
    assert 0 < checkpointed['peak'] < plain['peak']
    assert plain['time'] > 0 and checkpointed['time'] > 0
