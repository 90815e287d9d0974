"""keras-lowlight: extreme low-light RAW → sRGB with Keras, from SID training to LiteRT on a phone.

Importing the package is cheap: TensorFlow loads only when a model, dataset or export
function is used.
"""

from keras_lowlight.runtime.errors import LowlightError, RawReadError
from keras_lowlight.runtime.raw import RawImage, read_raw

__version__ = "0.1.0"

__all__ = ["LowlightError", "RawImage", "RawReadError", "read_raw", "__version__"]
