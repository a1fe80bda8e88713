# A tiny FlexVAR generator post-trained with SAR (stagger-scale rollout with
# sampled, CFG-guided teacher tokens + contrastive student-forcing loss) on 24 px
# synthetic shapes, with a random per-step scale schedule: every RNG-owning
# component is exercised. For the tool tests (seconds on a CPU). Not a recipe.
_base_ = ['./tiny_flexvar_tf.py']

model = dict(
    backbone=dict(pos_grid_size=6, mask_cache_size=8),
    rollout=dict(type='StaggerScaleRollout', token_selection='sample', top_k=8, top_p=0.96,
                 rollout_cfg=1.2, seed=0),
    loss=dict(type='ContrastiveStudentForcingLoss', sigma=0.01),
    # the FlexVAR draw (spec 4.1) shrunk to a latent of 6 x 6
    scale_schedule=dict(_delete_=True, type='FlexVARRandomScaleSchedule', seed=0,
                        canonical=(1, 2, 3, 4, 6), mid_range=(3, 4), mid_count=1,
                        high_range=(5, 5), high_count=1, last_scale=6, max_tokens=66,
                        cap_window=2),
    test_cfg=dict(patch_nums=(1, 2, 3, 4, 6)),
)

train_dataloader = dict(dataset=dict(image_size=24))
