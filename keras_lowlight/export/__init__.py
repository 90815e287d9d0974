"""Export: Keras → LiteRT conversion in every mode (`tflite`), the Keras inference backend for the
shared tiler (`keras_engine`), and the int8 delegation report (`delegation`).

`keras_lowlight.export.convert(model, mode, representative=...)` and the other names below are
`keras_lowlight.export.tflite`'s (TensorFlow loads inside the functions, not here).
"""

from keras_lowlight.export.tflite import (  # noqa: F401
    DEFAULT_CALIBRATION_COUNT,
    INPUT_NAME,
    MODES,
    OUTPUT_NAME,
    OUTPUT_NAMES,
    RAW_OUTPUT_NAME,
    SIGNATURE_KEY,
    ExportError,
    Representative,
    calibration_batches,
    check_builtin_only,
    conversion_error,
    convert,
    convert_file,
    describe_tflite,
    load_keras_model,
    name_signature,
    non_builtin_ops,
    output_name_for,
    quantize_int16x8,
    read_tflite,
    synthetic_crops,
    tflite_op_names,
    write_atomically,
)
