"""``python -m jupyter_fairshare.cli``: the ``fairshare`` command, for a process that has no console script."""

import sys

from . import main

sys.exit(main())
