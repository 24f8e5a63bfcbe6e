# loses:
# requires: sandbox
# Overwriting the rubric, the reference, the gradebook and the kept results. The test
# compares those files before and after.
import glob as _glob

for _path in ["@@RUBRIC@@", "@@REFERENCE@@", "@@OUT@@/gradebook.csv", "@@OUT@@/sentinel.txt",
              *_glob.glob("@@OUT@@/.grade/results/*.json")]:
    try:
        with open(_path, "w") as _handle:
            _handle.write('{"forged": true}\n')
    except OSError:
        pass
