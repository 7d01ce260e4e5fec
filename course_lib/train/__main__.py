"""`python -m course_lib.train ...`: see course_lib/train/cli.py."""
import sys

from .cli import main

sys.exit(main())
