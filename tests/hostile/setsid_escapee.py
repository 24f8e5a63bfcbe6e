# loses:
# requires: sandbox
# A process in a session of its own outlives its parent's process group; it must not
# outlive the submission. The test looks for @@TOKEN@@ among the machine's processes.
import subprocess as _subprocess

_subprocess.Popen(["sleep", "@@TOKEN@@"], start_new_session=True,
                  stdout=_subprocess.DEVNULL, stderr=_subprocess.DEVNULL)
