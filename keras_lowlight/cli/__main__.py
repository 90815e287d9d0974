"""`python -m keras_lowlight.cli ...` runs the `lowlight` command."""

import sys

from keras_lowlight.cli.main import main

sys.exit(main())
