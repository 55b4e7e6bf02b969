"""``python -m neuralnet`` runs the command line."""

import sys

from neuralnet.cli import main

sys.exit(main())
