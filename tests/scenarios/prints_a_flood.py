# loses:
import sys

for _ in range(2000):
    print("x" * 10_000)
    sys.stderr.write("y" * 1_000 + "\n")
