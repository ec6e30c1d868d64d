"""``python -m graphengine`` runs the command line."""

import sys

from graphengine.cli import main

sys.exit(main())
