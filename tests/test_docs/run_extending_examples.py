"""Run the examples of docs/extending.md and check that they work (a subprocess of
test_extending.py, so that the example classes never enter the registries of other tests).

Every ```python block of the page runs in order in one namespace, except the config block
(first line ``# configs/...``), which is read as a config. A tiny FlexVAR generator is then
built with the example backbone, rollout and loss from that config, takes optimizer steps,
and samples.
"""
import re
import sys
from pathlib import Path

import torch
from mmengine.optim import OptimWrapper

from sar_mm.models.generators import ScaleWiseAR
from sar_mm.registry import BACKBONES, MODELS, ROLLOUTS


def python_blocks(path: Path):
    return re.findall(r'```python\n(.*?)```', path.read_text(), flags=re.S)


def main(doc: Path) -> None:
    namespace: dict = {}
    config: dict = {}
    blocks = python_blocks(doc)
    assert len(blocks) >= 4, f'expected the rollout, loss, backbone and config blocks, got {len(blocks)}'
    for block in blocks:
        if block.startswith('# configs/'):
            exec(block.replace("_base_ = ['./flexvar_d16_tf.py']", ''), {}, config)
        else:
            exec(block, namespace)
    rollout, loss = dict(config['model']['rollout']), dict(config['model']['loss'])
    rollout.pop('_delete_'), loss.pop('_delete_')

    torch.manual_seed(0)
    patch_nums = [1, 2, 4, 8]
    model: ScaleWiseAR = MODELS.build(dict(
        type='ScaleWiseAR',
        tokenizer=dict(type='FlexVQVAE', ch=32, z_channels=32, ch_mult=(1, 1), num_res_blocks=1,
                       vocab_size=64, embed_dim=8, usage_buffer_size=16),
        backbone=dict(type='BicubicPositionFlexVAR', depth=1, num_classes=10, vocab_size=64,
                      cvae=8, pos_grid_size=8),
        rollout=rollout, loss=loss,
        scale_schedule=dict(type='FixedScaleSchedule', patch_nums=patch_nums),
        test_cfg=dict(patch_nums=patch_nums, cfg=1.5, cfg_schedule='flexvar', top_k=8)))
    ref = BACKBONES.build(dict(type='FlexVARTransformer', depth=1, num_classes=10,
                               vocab_size=64, cvae=8, pos_grid_size=8))
    ref.load_state_dict(model.backbone.state_dict(), strict=True)  # same parameters
    tp = tuple(patch_nums)
    assert torch.equal(model.backbone.scale_positions(tp, 0), ref.scale_positions(tp, 0))
    assert not torch.allclose(model.backbone.scale_positions(tp, 2), ref.scale_positions(tp, 2))
    assert type(model.rollout).__name__ == 'NoisyTeacherForcing'
    assert type(model.loss_module).__name__ == 'CrossEntropyWithZLoss'

    g = torch.Generator().manual_seed(0)
    data = dict(inputs=torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8, generator=g),
                data_samples=dict(labels=torch.arange(4)))
    wrapper = OptimWrapper(torch.optim.AdamW(model.backbone.parameters(), lr=1e-3))
    before = model.backbone.pos_1LC.detach().clone()
    for _ in range(3):
        log = model.train_step(data, wrapper)
    assert {'loss_ce', 'loss_z', 'acc'} <= set(log), sorted(log)
    assert all(torch.isfinite(v).all() for v in log.values()), log
    assert not torch.equal(before, model.backbone.pos_1LC), 'the positions got no update'

    # the rollout's noise reaches the inputs: at rate 1 the logits differ from teacher forcing
    model.eval()
    clean = ROLLOUTS.build(dict(type='TeacherForcing'))
    labels = data['data_samples']['labels']
    idx = model._tokenize(model.data_preprocessor(data)['inputs'], patch_nums, None)
    with torch.no_grad():
        torch.manual_seed(1)
        noisy = namespace['NoisyTeacherForcing'](1.0)(model.backbone, model.tokenizer, labels, idx,
                                                      patch_nums)
        reference = clean(model.backbone, model.tokenizer, labels, idx, patch_nums)
        unchanged = namespace['NoisyTeacherForcing'](0.0)(model.backbone, model.tokenizer, labels,
                                                          idx, patch_nums)
    assert torch.equal(unchanged.logits, reference.logits)
    assert not torch.allclose(noisy.logits[:, 1:], reference.logits[:, 1:])

    out = model.generate(labels, seeds=[0, 1, 2, 3])
    assert tuple(out['images'].shape) == (4, 3, 16, 16), out['images'].shape  # 8 x 2 px
    try:
        model.backbone.check_schedule([1, 2, 4, 16])
    except ValueError as err:
        assert 'pos_grid_size' in str(err), err
    else:
        raise AssertionError('a scale beyond pos_grid_size must be refused')
    print('extending.md examples: OK')


if __name__ == '__main__':
    main(Path(sys.argv[1]))
