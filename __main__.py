"""`python -m motion_tokens ...`: the command line (cli/)."""

import sys

from .cli import main

sys.exit(main())
