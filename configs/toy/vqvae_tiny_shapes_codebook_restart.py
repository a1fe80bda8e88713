# The toy tokenizer (vqvae_tiny_shapes.py) with the two codebook components
# that change training switched on: a k-means initialisation of the codebook
# from the first batch's encoder outputs, and dead-code restarts from recent
# encoder outputs every 50 iterations (configs/_base_/recipes/vq_codebook_health.py).
_base_ = ['./vqvae_tiny_shapes.py']

custom_hooks = [
    *_base_.custom_hooks,
    _base_.codebook_init_hook,
    _base_.dead_code_restart_hook,
]
