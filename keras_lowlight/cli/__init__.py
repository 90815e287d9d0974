"""The `lowlight` command (`commands`), its shared argument checks (`args`) and the web client's
server (`serve_web`). The top layer: each command imports its layer lazily, so `lowlight enhance`
on a `.tflite` stays TensorFlow-free.

`keras_lowlight.cli:main` is the console script's entry point (also for installs made before the
package was regrouped, whose `lowlight` script imports it from here).
"""

from keras_lowlight.cli.commands import build_parser, main

__all__ = ["build_parser", "main"]
