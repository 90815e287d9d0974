"""Training: `train` (model.fit with the paper's recipe, configs, resumable runs), `checkpoints`
(atomic saves, best-model and NaN guards) and `qat` (quantization-aware training on the tf_keras twin)."""
