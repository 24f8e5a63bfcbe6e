"""`python -m grader` is the `grade` command."""

from .cli import entry_point

entry_point()
