"""`python -m motion_tokens ...`: the command line (core/cli.py)."""

import sys

from .core.cli import main

sys.exit(main())
