"""Benchmark: how long a student waits for `grade check`, and for `grader.check("2e")`.

    python bench/check_speed.py                     # 9 runs of each
    python bench/check_speed.py --runs 15 --baseline REF   # also the engine of git commit REF
    python bench/check_speed.py --baseline HEAD --other FOLDER   # and the grader/ package in FOLDER

The whole command is timed as a student runs it (a fresh process, its own interpreter's
start included, as hyperfine would): `grade check SUBMISSION --bundle ex07-check.json` with
the bundle this version writes (`grade assign rubrics/ex07.yaml`), on a correct module (the
example alice.py), a module with mistakes (dave.py) and a notebook (grace.ipynb). Beside it,
the floor no version can go under here: the interpreter's own start (with site, as the `grade`
script starts), and numpy's import, which the student's process needs.

`grader.check("2e")` is timed in this process, as in a notebook's kernel: once cold (the first
call of a kernel, which reads the bundle) and then warm (every later call).

With --baseline REF the files of that commit (`git archive`, the working tree's git state is
left alone) run the same commands, each with a release of its own version's bundle, in the
same loop, so before and after are measured side by side on the same machine load (with
--other FOLDER, also the `grader` package in FOLDER, e.g. a copy with a change tried out). Each
figure is the median of --runs runs (with the fastest and slowest). Not part of the tests.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "submissions_example" / "ex07"
SUBMISSIONS = [("correct module", "alice.py"), ("module with mistakes", "dave.py"), ("notebook", "grace.ipynb")]


class Engine:
    """A version of grade: its source tree, and a release made by it."""

    def __init__(self, name: str, tree: Path, work: Path) -> None:
        self.name, self.tree = name, tree
        self.env = dict(os.environ, PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="")
        self.release = work / f"release-{name.replace(' ', '-')}"
        subprocess.run([sys.executable, "-m", "grader", "assign", str(ROOT / "rubrics" / "ex07.yaml"),
                        "--out", str(self.release)], capture_output=True, check=True, cwd=work, env=self.env)
        self.bundle = self.release / "ex07-check.json"

    def check(self, submission: Path) -> list[str]:
        return [sys.executable, "-m", "grader", "check", str(submission), "--bundle", str(self.bundle)]


def baseline_tree(ref: str, work: Path) -> Path:
    """The files of commit `ref`, unpacked beside the run (no worktree, no checkout)."""
    tree = work / f"tree-{ref}"
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "grader"], capture_output=True, check=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    return tree


def seconds(command: list[str], env: dict, cwd: Path) -> tuple[float, float]:
    """The wall time of `command` and the CPU time (user + system) of all its processes."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, env=env, cwd=cwd)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode(errors='replace').strip()[-500:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measured(samples: list[tuple[float, float]]) -> str:
    wall, cpu = [w for w, _ in samples], [c for _, c in samples]
    return (f"{statistics.median(wall):6.3f} s  ({min(wall):.3f} .. {max(wall):.3f})   "
            f"CPU {statistics.median(cpu):.3f} s")


def notebook_check(bundle: Path, runs: int) -> tuple[float, float]:
    """`grader.check("2e")` on alice's definitions in this process: the first call (cold) and
    the median of the next `runs` (warm), in seconds."""
    import grader

    namespace: dict = {}
    exec(compile((EXAMPLES / "alice.py").read_text(), "alice.py", "exec"), namespace)
    started = time.perf_counter()
    first = grader.check("2e", bundle=bundle, namespace=namespace, quiet=True)
    cold = time.perf_counter() - started
    assert first.lines and first.lines[0].verdict == "passed", first.text
    warm = []
    for _ in range(runs):
        started = time.perf_counter()
        grader.check("2e", bundle=bundle, namespace=namespace, quiet=True)
        warm.append(time.perf_counter() - started)
    return cold, statistics.median(warm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="runs of each command (at least 5; default 9)")
    parser.add_argument("--baseline", metavar="REF", help="also time the engine of this git commit")
    parser.add_argument("--other", metavar="FOLDER", type=Path,
                        help="also time the `grader` package in FOLDER (a copy with a change tried out)")
    args = parser.parse_args()
    runs = max(args.runs, 5)
    with tempfile.TemporaryDirectory(prefix="check-speed-") as scratch:
        work = Path(scratch)
        engines = [Engine("this version", ROOT, work)]
        if args.baseline:
            engines.append(Engine(f"baseline {args.baseline}", baseline_tree(args.baseline, work), work))
        if args.other:
            if not (args.other / "grader" / "__init__.py").is_file():
                raise SystemExit(f"--other {args.other}: no grader package in it")
            engines.append(Engine(f"other {args.other.name}", args.other.resolve(), work))
        plain = dict(os.environ)
        packages = str(Path(importlib.util.find_spec("numpy").origin).parents[1])
        floors = {"python -c pass (the interpreter's start, with site)": [sys.executable, "-c", "pass"],
                  "python -I -S, import numpy (the student's process)": [
                      sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {packages!r}); import numpy"]}
        samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(runs):  # interleaved, so every command sees the same machine load
            for label, command in floors.items():
                samples.setdefault(("floor", label), []).append(seconds(command, plain, work))
            for engine in engines:
                for label, name in SUBMISSIONS:
                    samples.setdefault((engine.name, label), []).append(
                        seconds(engine.check(EXAMPLES / name), engine.env, work))
        cold, warm = notebook_check(engines[0].bundle, runs)
    print(f"grade check on Exercise 7, whole command, median of {runs} runs (fastest .. slowest); CPU: user +\n"
          "system time of all its processes (what a loaded machine cannot hide)")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores\n")
    width = max(len(label) for _, label in samples) + 2
    for (who, label), values in samples.items():
        if who == "floor":
            print(f"  floor   {label.ljust(width)}{measured(values)}")
    for engine in engines:
        print(f"\n  {engine.name}")
        for label, _ in SUBMISSIONS:
            print(f"          {label.ljust(width)}{measured(samples[engine.name, label])}")
    for other in engines[1:]:
        print(f"\n  {other.name} -> this version")
        for label, _ in SUBMISSIONS:
            before = statistics.median(wall for wall, _ in samples[other.name, label])
            after = statistics.median(wall for wall, _ in samples[engines[0].name, label])
            print(f"    {label}: {before:.3f} s -> {after:.3f} s ({before / after:.1f}x)")
    print(f"\ngrader.check(\"2e\") in this process: first call {cold * 1000:.0f} ms, then {warm * 1000:.1f} ms "
          f"(median of {runs})")


if __name__ == "__main__":
    main()
