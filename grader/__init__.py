"""grade: grade exercise sheets against a trusted reference, with student code run in isolation.

The package follows the flow of data:
rubric -> reference -> cases -> submissions -> runner (child process) -> checks -> scoring
-> gradebook / feedback, driven by pipeline and exposed by cli.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """`grader.check` and `grader.check_all` (notebook.py), imported when first used."""
    if name in ("check", "check_all"):
        from . import notebook

        return getattr(notebook, name)
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
