# Codebook health while a tokenizer trains (VQTokenizerTrainer; FlexVQVAE or
# VAR's MultiScaleVQVAE), one hook each, for a tokenizer config to switch on:
#   _base_ = [..., '../_base_/recipes/vq_codebook_health.py']
#   custom_hooks = [_base_.codebook_usage_hook, _base_.codebook_init_hook, ...]
# - codebook_usage_hook: usage (%), perplexity and dead codes of the codes the
#   trained batches selected (all scales of VAR's shared codebook) over windows
#   of `interval` iterations (the logger's interval), logged and sent to the
#   visualizer as codebook/*; a warning below `warn_below` (a fraction).
# - codebook_init_hook: the codebook replaced, before iteration 0, by k-means
#   centroids of the first batch's encoder outputs (spherical for FlexVQVAE).
# - dead_code_restart_hook: every `interval` iterations, codes selected fewer
#   than `min_hits` times are re-seeded from the last `buffer_size` encoder
#   outputs; counts, buffer and generator state go into the checkpoints.
# - held-out reconstruction: HeldOutReconstructionHook needs the config's own
#   held-out dataset and schedule (see configs/toy/vqvae_tiny_shapes.py).
codebook_usage_hook = dict(type='CodebookUsageHook', interval=10, warn_below=0.5)
codebook_init_hook = dict(type='CodebookInitHook', method='kmeans', kmeans_iters=10, seed=0)
dead_code_restart_hook = dict(type='DeadCodeRestartHook', interval=50, min_hits=1,
                              buffer_size=16384, seed=0)
