"""The one family of errors the grader raises for its user.

Every message is written for the person running `grade`: it names the file or the thing
that is wrong and says what to do. The CLI prints it as one line; tracebacks only with -v.
"""


class GradeError(Exception):
    """Base of every error meant for the user. The message is the whole story."""


class RubricError(GradeError):
    """The rubric file is missing, unparsable or inconsistent; nothing is graded."""


class ReferenceLoadError(GradeError):
    """The reference implementation cannot be loaded or fails on the rubric's cases."""


class SubmissionsError(GradeError):
    """The submissions folder itself cannot be used (missing, not a folder)."""


class OutputError(GradeError):
    """The output folder cannot be written."""


class ClusterError(GradeError):
    """The Dask cluster of `--dask` cannot be reached or cannot grade (a whole run), or lost
    one submission (that submission's row)."""
