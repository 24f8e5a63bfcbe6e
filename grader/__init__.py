"""grade: grade exercise sheets against a trusted reference, with student code run in isolation.

The package follows the flow of data:
rubric -> reference -> cases -> submissions -> runner (child process) -> checks -> scoring
-> gradebook / feedback, driven by pipeline and exposed by cli.
"""

__version__ = "0.1.0"
