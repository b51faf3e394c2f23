"""Every test run: compiled modules are kept between runs, outside the source tree.

Where the environment asks Python not to write bytecode (PYTHONDONTWRITEBYTECODE,
so that no `__pycache__` appears beside the sources), every run would compile
each module again and pytest would rewrite the asserts of each test module
again: about 15 s of a run. The compiled files go under `.pytest_cache/bytecode`
instead (ignored by git, removed by `make clean`), so the tree stays clean.
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.dont_write_bytecode:
    sys.pycache_prefix = str(Path(__file__).parents[1] / ".pytest_cache" / "bytecode")
    sys.dont_write_bytecode = False
