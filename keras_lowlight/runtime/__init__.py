"""The TensorFlow-free runtime: what `lowlight enhance --backend tflite`, `info` and `serve-web` need.

RAW reading and checks (`raw`, `rawcheck`, `dng`), packing (`packing`), the shared conventions
(`conventions`: CFA/scale map, amplification, tile defaults, `.tflite` names), the LiteRT engine and
tiler (`engine`), rendering (`isp`, `unprocess`), the automatic ratio (`exposure`), output writers
(`writers`), the enhance command (`enhance`) and the phone contract (`contract`).

Layering (pyproject.toml, [tool.importlinter]): nothing here imports TensorFlow, Keras or any other
layer of keras_lowlight. The Keras backend (`keras_lowlight.export.keras_engine`) is loaded by name
only when a `.keras` model is asked for.
"""
