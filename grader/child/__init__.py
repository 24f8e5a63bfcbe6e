"""Code that also runs inside a student's process.

Modules here import only the standard library and numpy, and never anything else of the
grader: the child runs them as top-level modules (`wire`, `isolate`) with a sys.path that holds
neither the project tree nor the reference.
"""
