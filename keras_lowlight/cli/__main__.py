"""`python -m keras_lowlight.cli ...` runs the `lowlight` command."""

import sys

from keras_lowlight.cli.commands import main

sys.exit(main())
