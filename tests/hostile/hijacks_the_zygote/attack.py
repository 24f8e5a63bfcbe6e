# loses:
# requires: sandbox
# jobs: 1
# The folder ships modules named like the standard library's (shutil, subprocess, select,
# resource, ctypes, base64, platform, tempfile). Were the warm process that forks every
# session to import one of them from the working folder, the payload would run there and
# break numpy for every later student of this slot (the victims graded after it).
import shutil as _shutil  # the student's own session may import its own modules: harmless
