"""Where the course keeps its files.

`DATA_DIR` is the repository's `data/` folder (override with the environment variable
`COURSE_DATA_DIR`). The downloaded corpus goes to `CACHE_DIR` (git-ignored); the models the
project trained itself live in `CHECKPOINT_DIR` (committed).
"""
import os
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("COURSE_DATA_DIR", REPO_DIR / "data"))
CACHE_DIR = DATA_DIR / "cache"
CHECKPOINT_DIR = DATA_DIR / "checkpoints"
