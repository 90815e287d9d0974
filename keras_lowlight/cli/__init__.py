"""The `lowlight` command (`main`), its shared argument checks (`args`) and the web client's server
(`serve_web`). The top layer: each command imports its layer lazily, so `lowlight enhance` on a
`.tflite` stays TensorFlow-free."""
