"""`python -m course_lib.tokenizer ...`: see course_lib/tokenizer/cli.py."""
import sys

from .cli import main

sys.exit(main())
