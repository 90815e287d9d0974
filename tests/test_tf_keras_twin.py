"""The tf_keras (Keras 2) twin used for quantization-aware training."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("tf_keras")

from keras_lowlight import models  # noqa: E402
from keras_lowlight.models.tf_keras_twin import (  # noqa: E402
    TWIN_CUSTOM_LAYER_NAMES,
    build_tf_keras_twin,
    twin_custom_objects,
)

CASES = [
    ("tiny", "bayer", {}),
    ("tiny", "xtrans", {"upsampling": "transposed", "res_scale": 0.1}),
    ("tiny", "bayer", {"upsampling": "nearest", "use_se": False}),
    ("tiny_unet", "xtrans", {}),
    ("tiny_unet", "bayer", {"any_size": False}),
    ("tiny_mobile", "bayer", {}),
    ("tiny_mobile", "xtrans", {"any_size": False}),
]


@pytest.mark.parametrize("name, cfa, overrides", CASES)
def test_twin_computes_what_the_keras3_model_computes(name, cfa, overrides):
    model = models.get(name, cfa=cfa, **overrides)
    twin = build_tf_keras_twin(model)
    channels = model.inputs[0].shape[-1]
    h, w = (32, 48) if overrides.get("any_size") is False else (19, 26)
    x = np.random.default_rng(3).random((2, h, w, channels), dtype=np.float32)
    np.testing.assert_allclose(twin(x).numpy(), model(x).numpy(), atol=1e-5)
    assert twin.name == model.name
    assert twin.input_names == ["packed_raw"] and twin.layers[-1].name == "srgb"


def test_twin_is_flat_and_weights_transfer_by_order():
    model = models.get("tiny_mobile", cfa="bayer")
    twin = build_tf_keras_twin(("tiny_mobile", "bayer", {}))  # fresh weights
    x = np.random.default_rng(0).random((1, 16, 16, 4), dtype=np.float32)
    assert not np.allclose(twin(x).numpy(), model(x).numpy(), atol=1e-3)
    twin.set_weights(model.get_weights())
    np.testing.assert_allclose(twin(x).numpy(), model(x).numpy(), atol=1e-5)
    import tf_keras

    assert isinstance(twin, tf_keras.Model)
    kinds = {type(l).__name__ for l in twin.layers}
    assert "ResidualBlock" not in kinds and "SqueezeExcite" not in kinds
    assert {"Conv2D", "GlobalAveragePooling2D", "Multiply", "Add", "ReLU"} <= kinds
    assert not [l for l in twin.layers if hasattr(l, "layers")]  # no nested models/layers


def test_annotate_sees_every_layer_before_it_is_applied():
    seen = []

    def annotate(layer):
        assert not layer.built
        seen.append(layer)
        return layer

    twin = build_tf_keras_twin(("tiny", "bayer", {"res_scale": 0.1}), annotate=annotate)
    non_input = [l for l in twin.layers if type(l).__name__ != "InputLayer"]
    assert len(seen) == len(non_input) and set(map(id, seen)) == set(map(id, non_input))
    assert {type(l).__name__ for l in seen} & set(TWIN_CUSTOM_LAYER_NAMES) == {
        "TwinDepthToSpace",
        "TwinResidualScale",
    }


def test_twin_of_a_reloaded_keras_file(tmp_path):
    import keras

    model = models.get("tiny", cfa="xtrans", upsampling="nearest")
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    twin = build_tf_keras_twin(loaded)
    x = np.random.default_rng(1).random((1, 9, 7, 9), dtype=np.float32)
    np.testing.assert_allclose(twin(x).numpy(), model(x).numpy(), atol=1e-5)


def test_custom_objects_are_the_twin_layers():
    assert set(twin_custom_objects()) == set(TWIN_CUSTOM_LAYER_NAMES)


def test_module_does_not_import_tfmot_nor_flip_tf_keras():
    code = textwrap.dedent(
        """
        import os, sys
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        from keras_lowlight.models.tf_keras_twin import build_tf_keras_twin
        build_tf_keras_twin(("tiny", "bayer", {}))
        assert "tensorflow_model_optimization" not in sys.modules
        assert os.environ.get("TF_USE_LEGACY_KERAS") in (None, "0", "")
        print("OK")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr[-2000:]


def test_tfmot_quantize_apply_accepts_the_annotated_twin():
    # In a child process: importing tfmot flips tf.keras to Keras 2 for the whole process.
    code = textwrap.dedent(
        """
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np
        import tensorflow_model_optimization as tfmot
        from keras_lowlight import models
        from keras_lowlight.models.tf_keras_twin import build_tf_keras_twin, twin_custom_objects
        q = tfmot.quantization.keras

        class PassThrough(q.QuantizeConfig):  # depth_to_space & co: no weights, no new range
            def get_weights_and_quantizers(self, layer): return []
            def get_activations_and_quantizers(self, layer): return []
            def set_quantize_weights(self, layer, w): pass
            def set_quantize_activations(self, layer, a): pass
            def get_output_quantizers(self, layer): return []
            def get_config(self): return {}

        class OutputRange(PassThrough):  # SE multiply, residual scale: a new value range
            def get_output_quantizers(self, layer):
                return [q.quantizers.MovingAverageQuantizer(8, False, False, False)]

        def annotate(layer):
            kind = type(layer).__name__
            if kind in ("Multiply", "TwinResidualScale"):
                return q.quantize_annotate_layer(layer, OutputRange())
            if kind in twin_custom_objects():
                return q.quantize_annotate_layer(layer, PassThrough())
            return q.quantize_annotate_layer(layer)

        scope = {**twin_custom_objects(), "PassThrough": PassThrough, "OutputRange": OutputRange}
        for name, overrides in [("tiny", {"res_scale": 0.1}), ("tiny_unet", {}), ("tiny_mobile", {})]:
            twin = build_tf_keras_twin(models.get(name, **overrides), annotate=annotate)
            with q.quantize_scope(scope):
                qat = q.quantize_apply(twin)
            y = qat(np.random.rand(1, 32, 32, 4).astype("float32"))
            assert tuple(y.shape) == (1, 64, 64, 3), y.shape
        print("OK")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr[-3000:]
