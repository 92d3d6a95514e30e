"""The package version: the repository's VERSION file, the one place it is set.

In the source tree it is read from there; an installed package carries this
file replaced by a constant (setup.py writes it at build time).
"""

import os


def _from_repository() -> str:
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "VERSION")
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return "0+unknown"


__version__ = _from_repository()
