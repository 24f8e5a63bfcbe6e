"""`python -m grader` is the `grade` command."""

from .cli import entry_point

if __name__ == "__main__":  # not when a Dask worker process (spawned) imports the main module again
    entry_point()
