"""The line every report (bench/results, the codec evaluation) states its machine with."""

from __future__ import annotations

import os
import platform

import numpy as np


def machine_line() -> str:
    """'Machine: x86_64, 2 cores, Python 3.11.7, numpy 1.26.4.'"""
    return (f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"numpy {np.__version__}.")
