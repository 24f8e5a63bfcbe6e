"""Benchmark: how fast `grade` grades a course, against nbgrader's autograde.

    python bench/run.py                 # 1,000 submissions, nbgrader on 20 + 40 notebooks, 3 repeats
    python bench/run.py --n 200 --repeats 1 --nbgrader 0   # a quick look, without nbgrader
    python bench/run.py --n 200 --nbgrader 20 --tmp-python --baseline REF   # the sandbox's cost
    python bench/run.py --n 200,1000 --nbgrader 0 --dask   # issue 15: stages, rerun, Dask

With --tmp-python the same N submissions are also graded by a Python that lives under /tmp
(a virtualenv made there once, with numpy installed in it), where the sandbox must keep the
interpreter visible under each session's own /tmp. With --baseline REF (a git commit) the
engine of that commit grades the same submissions in the same run, from a worktree, so the
per-submission cost before and after a change is measured side by side.

It generates N submissions from the bundled examples (a mix of modules and notebooks,
correct ones, common mistakes and a few endless loops), grades them, and prints a table:
submissions per second, the median per-submission overhead (grading time minus the student
code's own time), the grader's peak memory for N/10 and N submissions, a rerun on the
unchanged folder (and its share of the full run's time), with --dask the same N graded on a
local Dask cluster of --workers workers, and, in the same run, nbgrader's autograde on the same
notebooks (set up in its own virtualenv by bench/nbgrader_side.py) with the ratio. Then, per
size, where the time goes: each stage of the full run and of the rerun (grader/timing.py), in
all and per submission, with the floor beside them (a warm session that loads a two-line
module, with one trivial call and with as many as a submission is asked). Each figure is the
median of --repeats runs. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbformat import v4

from grader.cli import default_jobs

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "submissions_example" / "ex07"
WORK = Path(__file__).resolve().parent / ".work"
# (example, share of the course): correct, common mistakes, and endless loops
MIX = [("alice", 30), ("dave", 10), ("carol_py", 5), ("erin", 10), ("frank", 10), ("grace", 5),
       ("heidi", 10), ("ivan", 10), ("nina", 9.7), ("judy", 0.3)]


def generate(n: int, folder: Path, seed: int = 7, loops: bool = True) -> None:
    """N submissions, half of them notebooks; each one a little different, as students are.
    With `loops`, 0.3 % of them (at least one) loop for ever in one function."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = random.Random(seed)
    sources = {name: _source(name) for name, _ in MIX}
    names, weights = zip(*MIX)
    picks = rng.choices(names, weights=weights, k=n)
    judy_slots = set(rng.sample(range(n), k=min(n, max(1, round(n * 0.003))))) if loops else set()
    for i, name in enumerate(picks):
        name = "judy" if i in judy_slots else ("alice" if name == "judy" else name)
        source = f"# submission {i} ({name})\n" + sources[name]
        student = f"s{i:05d}"
        if i % 2:
            nbformat.write(_notebook(source), folder / f"{student}.ipynb")
        else:
            (folder / f"{student}.py").write_text(source)


def _source(name: str) -> str:
    if name == "carol_py":
        return (EXAMPLES / "alice.py").read_text().replace("import numpy as np", "import numpy as np  # carol")
    if name == "grace":
        notebook = nbformat.read(EXAMPLES / "grace.ipynb", as_version=4)
        return "\n\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    return (EXAMPLES / f"{name}.py").read_text()


def _notebook(source: str):
    """A notebook with one code cell per top-level statement group, as students write them."""
    lines = source.splitlines(keepends=True)
    starts = sorted({node.lineno - 1 for node in ast.parse(source).body})
    cells, previous = [], 0
    for start in starts[1:] + [len(lines)]:
        chunk = "".join(lines[previous:start]).strip()
        if chunk and (len(cells) == 0 or start - previous > 6 or start == len(lines)):
            cells.append(v4.new_code_cell(chunk))
            previous = start
    return v4.new_notebook(cells=cells or [v4.new_code_cell(source)])


RUBRIC = ROOT / "rubrics" / "ex07.yaml"


def grade_once(folder: Path, out: Path, *extra: str, python: str = sys.executable, root: Path = ROOT) -> dict:
    """Grade in a fresh process; its wall time, peak memory, per-submission figures and, from
    engines that measure them, the seconds spent in each stage (grader/timing.py).
    `python` and `root` choose the interpreter and the engine's source tree."""
    code = f"""
import json, resource, statistics, sys, time
started = time.perf_counter()
from grader.cli import main
from pathlib import Path
summary = main(submissions=Path({str(folder)!r}), out=Path({str(out)!r}), rubric=Path({str(RUBRIC)!r}),
               {', '.join(extra)})
wall = time.perf_counter() - started
overheads = [s.seconds - s.code_seconds for s in summary.students if s.seconds]
try:
    from grader import timing
    stages = {{name: seconds for name, (seconds, _) in timing.totals().items()}}
    requests = timing.totals().get("requests sent", (0, 0))[1]
except ImportError:
    stages, requests = {{}}, 0
print(json.dumps({{"wall": wall, "students": len(summary.students),
                  "overhead": statistics.median(overheads) if overheads else 0.0,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "errors": summary.count("error"), "requests": requests,
                  "stages": stages}}))
"""
    env = {**os.environ, "PYTHONPATH": str(root)}
    result = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=root, env=env)
    if result.returncode != 0:
        sys.exit(f"bench: grading failed: {result.stderr.strip().splitlines()[-1:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["stages"]["startup, discovery and the rest (wall)"] = figures["wall"] - sum(
        seconds for name, seconds in figures["stages"].items() if name in WALL_STAGES)
    return figures


def empty(out: Path) -> Path:
    """An output folder as a first run finds it: none. Reusing one would grade against a
    ledger that grows with every run of the benchmark (each run keeps its results)."""
    shutil.rmtree(out, ignore_errors=True)
    return out


# stages that run one at a time on the main thread, after the workers: the rest of the wall
# time is start-up, discovery and grading's wall time (the workers' stages overlap)
WALL_STAGES = ("gradebook.csv", "results.csv and ledger", "grading (wall)", "showing (wall)")


FLOOR = """
import json, statistics, sys, tempfile, time
from pathlib import Path
from grader.rubric import load_rubric
from grader.runner import Request, Runner
from grader.sandbox import choose
from grader.submissions import read_submission

spec = load_rubric(Path(sys.argv[1]))
requests = int(sys.argv[2])
folder = Path(tempfile.mkdtemp())
(folder / "floor.py").write_text("def f():\\n    return 1\\n")
submission = read_submission(folder / "floor.py", "floor", spec.entry)
with Runner.for_rubric(spec, confinement=choose("auto")) as runner:
    def seconds(asked):
        runner.run(submission, asked)  # warm
        times = []
        for _ in range(30):
            started = time.perf_counter()
            runner.run(submission, asked)
            times.append(time.perf_counter() - started)
        return statistics.median(times)
    print(json.dumps({"session": seconds([Request("f", "call", "f")]),
                      "asked": seconds([Request(f"f/{i}", "call", "f") for i in range(requests)]),
                      "sandboxed": runner.confinement.sandboxed}))
"""


def floor(requests: int) -> dict:
    """The least a submission can cost here: a warm session that loads a two-line module,
    with one trivial call and with as many as a submission is asked."""
    result = subprocess.run([sys.executable, "-c", FLOOR, str(RUBRIC), str(requests)], capture_output=True,
                            text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if result.returncode != 0:
        sys.exit(f"bench: measuring the floor failed: {result.stderr.strip().splitlines()[-1:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


TMP_PYTHON = Path("/tmp/grade-bench-python")


def tmp_python() -> str:
    """A virtualenv under /tmp that sees the installed packages and has numpy of its own."""
    python = TMP_PYTHON / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(TMP_PYTHON)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--ignore-installed", "numpy"], check=True)
    return str(python)


def baseline_tree(ref: str) -> Path:
    """The engine of commit `ref`, checked out beside this one."""
    tree = WORK / "baseline"
    if tree.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)
        shutil.rmtree(tree, ignore_errors=True)
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), ref],
                   check=True, capture_output=True)
    return tree


def engine_costs(args, jobs: str) -> tuple[list[tuple[str, str]], dict[str, float]]:
    """Per-submission cost (whole run / N) of this engine and of --baseline's, with Python
    where it is installed and, with --tmp-python, under /tmp. The N submissions are the
    course's mix without endless loops, like the notebooks nbgrader is compared on (a loop
    costs both tools the same call timeout)."""
    course = WORK / f"course-{args.n}-no-loops"
    generate(args.n, course, loops=False)
    pythons = {"Python outside /tmp": sys.executable}
    if args.tmp_python:
        pythons["Python under /tmp"] = tmp_python()
    engines = {"this version": ROOT}
    if args.baseline:
        engines[f"baseline {args.baseline}"] = baseline_tree(args.baseline)
    rows, costs = [], {}
    for engine, root in engines.items():
        for where, python in pythons.items():
            figures = median_of(args.repeats, lambda: grade_once(course, empty(WORK / "out-engine"), jobs,
                                                               python=python, root=root))
            costs[f"{engine}, {where}"] = figures["wall"] / args.n
            rows.append((f"per submission ({args.n} graded, no loops), {engine}, {where}",
                         f"{figures['wall'] / args.n * 1000:.1f} ms ({figures['wall']:.1f} s in all)"))
    return rows, costs


def command_seconds(folder: Path, out: Path) -> float:
    """Wall time of the whole `grade` command, as a user waits for it."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grader", str(folder), "--out", str(out)],
                   capture_output=True, check=True, cwd=ROOT)
    return time.perf_counter() - started


_RELEASED: set[Path] = set()


def _check_seconds() -> float:
    """`grade check` as a student runs it: the release's bundle, a correct submission."""
    release = WORK / "release"
    if release not in _RELEASED:  # made by this version, once per run (a kept one may be an older version's)
        _RELEASED.add(release)
        subprocess.run([sys.executable, "-m", "grader", "assign", str(ROOT / "rubrics" / "ex07.yaml"),
                        "--out", str(release)], capture_output=True, check=True, cwd=ROOT)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grader", "check", str(EXAMPLES / "alice.py"),
                    "--bundle", str(release / "ex07-check.json")], capture_output=True, check=True, cwd=ROOT)
    return time.perf_counter() - started


def median_of(repeats: int, measure) -> dict:
    """The median of each numeric figure over `repeats` runs (and of each stage's seconds)."""
    runs = [measure() for _ in range(repeats)]
    figures = {key: statistics.median(run[key] for run in runs)
               for key, value in runs[0].items() if isinstance(value, (int, float))}
    figures["stages"] = {name: statistics.median(run["stages"].get(name, 0.0) for run in runs)
                         for name in runs[0].get("stages", {})}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", default="1000", help="submissions to grade, or sizes to grade separated by commas "
                                                    "(default 1000)")
    parser.add_argument("--nbgrader", type=int, default=40,
                        help="notebooks graded by both, as sets of N/2 and N (0: skip)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure; the median is shown")
    parser.add_argument("--jobs", type=int, default=None,
                        help="submissions graded at once (default: grade's own, one more than the cores)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(),
                        help="worker processes of the local Dask cluster (default: the number of cores)")
    parser.add_argument("--tmp-python", action="store_true", help="also grade with a Python living under /tmp")
    parser.add_argument("--baseline", metavar="REF", help="also grade with the engine of this git commit")
    parser.add_argument("--dask", action="store_true",
                        help="also grade on a local Dask cluster of --workers workers (grade --dask local)")
    args = parser.parse_args()
    args.jobs = args.jobs or default_jobs()
    jobs = f"jobs={args.jobs}"  # the same for every engine graded (a baseline's default may differ)
    rows, stage_tables = [], []
    sizes = [int(n) for n in str(args.n).split(",")]
    args.n = sizes[-1]  # the size the engines and nbgrader are compared on
    for n in sizes:
        course = WORK / f"course-{n}"
        small = WORK / f"course-{max(1, n // 10)}"
        generate(n, course)
        generate(max(1, n // 10), small)
        print(f"bench: grading {n} submissions, {args.repeats} time(s) each ...", file=sys.stderr)
        full = median_of(args.repeats, lambda: grade_once(course, empty(WORK / "out-full"), jobs))
        tenth = median_of(args.repeats, lambda: grade_once(small, empty(WORK / "out-small"), jobs))
        rerun = median_of(args.repeats, lambda: grade_once(course, WORK / "out-full", jobs))
        command = statistics.median(command_seconds(course, WORK / "out-full") for _ in range(args.repeats))
        rows += [
            (f"grade {n} submissions (sandboxed, --jobs {args.jobs})", f"{full['wall']:.1f} s"),
            ("submissions per second", f"{n / full['wall']:.1f}"),
            ("median per-submission overhead (grading minus student code)", f"{full['overhead'] * 1000:.1f} ms"),
            (f"grader peak memory, {n // 10} / {n} submissions",
             f"{tenth['maxrss_mb']:.0f} MB / {full['maxrss_mb']:.0f} MB"),
            (f"rerun on the unchanged {n} (same process as the full run)",
             f"{rerun['wall']:.2f} s = {rerun['wall'] / full['wall']:.1%} of the full run"),
            (f"rerun on the unchanged {n} (whole command)", f"{command:.2f} s"),
        ]
        if args.dask:
            dask = median_of(args.repeats, lambda: grade_once(course, empty(WORK / "out-dask"),
                                                             f"jobs={args.workers}", "dask='local'"))
            rows.append((f"grade {n} submissions on a local Dask cluster ({args.workers} workers)",
                         f"{dask['wall']:.1f} s = {dask['wall'] / full['wall'] - 1:+.0%} over local grading"))
        requests = round(full["requests"] / max(1, n))
        stage_tables.append((n, full, rerun, requests, floor(requests)))
    check = statistics.median(_check_seconds() for _ in range(max(3, args.repeats)))
    rows.append(("grade check on a correct submission (whole command)", f"{check:.2f} s"))
    costs: dict[str, float] = {}
    if args.tmp_python or args.baseline:
        engine_rows, costs = engine_costs(args, jobs)
        rows += engine_rows

    if args.nbgrader:
        # Throughput is the marginal cost of one more notebook: grading a set of M and of
        # 2M notebooks (no endless loops) and dividing the difference by M leaves out both
        # tools' fixed start-up (nbgrader's ~4 s, grade's ~1 s), which would otherwise hide
        # the per-notebook cost.
        small, large = args.nbgrader // 2, args.nbgrader
        sets = dict(zip((small, large), _notebook_sets(large)))
        ours = {n: median_of(args.repeats, lambda: grade_once(folder, empty(WORK / "out-nb"), jobs))["wall"]
                for n, folder in sets.items()}
        theirs = {n: median_of(args.repeats, lambda: _nbgrader(folder))["seconds"] for n, folder in sets.items()}
        ours_each = (ours[large] - ours[small]) / (large - small)
        theirs_each = (theirs[large] - theirs[small]) / (large - small)
        rows += [
            (f"grade, {small} / {large} notebooks", f"{ours[small]:.2f} s / {ours[large]:.2f} s"),
            (f"nbgrader autograde, same {small} / {large} notebooks", f"{theirs[small]:.1f} s / {theirs[large]:.1f} s"),
            ("cost of one more notebook: grade / nbgrader", f"{ours_each * 1000:.0f} ms / {theirs_each:.2f} s"),
            ("throughput ratio grade / nbgrader", f"{theirs_each / ours_each:.0f}x"),
        ]
        rows += [(f"nbgrader's per-notebook cost / grade's per-submission cost, {name}", f"{theirs_each / cost:.0f}x")
                 for name, cost in costs.items()]
    _print_table(rows, args)
    for table in stage_tables:
        _print_stages(*table)


def _notebook_sets(large: int) -> tuple[Path, Path]:
    """Two sets of notebooks, M and 2M, the small one the first half of the large one."""
    source = WORK / "mixed"
    generate(large, source, loops=False)  # a timeout costs both tools the same 3 s: leave them out
    sets = []
    for size in (large // 2, large):
        folder = WORK / f"notebooks-{size}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        for path in sorted(source.iterdir())[:size]:
            target = folder / f"{path.stem}.ipynb"
            if path.suffix == ".ipynb":
                shutil.copy(path, target)
            else:
                nbformat.write(_notebook(path.read_text()), target)
        sets.append(folder)
    return sets[0], sets[1]


def _nbgrader(notebooks: Path) -> dict:
    result = subprocess.run([sys.executable, str(Path(__file__).parent / "nbgrader_side.py"),
                             "--notebooks", str(notebooks), "--work", str(WORK / "nbgrader-course")],
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"bench: nbgrader failed: {result.stderr.strip().splitlines()[-1:]}")
    return json.loads(result.stdout)


def _print_stages(n: int, full: dict, rerun: dict, requests: int, least: dict) -> None:
    """Per stage: seconds in all and milliseconds per submission, for the full run and the
    rerun, with the floor beside them."""
    print(f"\nwhere the time goes, {n} submissions (stages of the workers add up over --jobs threads)\n")
    names = [name for name in full["stages"] if name != "requests sent"]
    names += [name for name in rerun["stages"] if name not in names and name != "requests sent"]
    width = max(len(name) for name in names + ["floor: a warm session with 00 trivial calls"])
    print(f"  {'stage'.ljust(width)}  {'full run':>22}  {'rerun':>22}")
    for name in names:
        cells = []
        for figures in (full, rerun):
            seconds = figures["stages"].get(name)
            cells.append("" if seconds is None else f"{seconds:8.2f} s {seconds / n * 1000:8.2f} ms")
        print(f"  {name.ljust(width)}  {cells[0]:>22}  {cells[1]:>22}")
    print(f"  {'floor: a warm session with 1 trivial call'.ljust(width)}  {least['session'] * 1000:19.2f} ms")
    print(f"  {f'floor: a warm session with {requests} trivial calls'.ljust(width)}  {least['asked'] * 1000:19.2f} ms"
          f"   ({'sandboxed' if least['sandboxed'] else 'NOT sandboxed'}; a submission is asked {requests} requests)")


def _print_table(rows: list[tuple[str, str]], args) -> None:
    width = max(len(label) for label, _ in rows)
    print(f"\ngrade benchmark: {os.cpu_count()} cores, median of {args.repeats} run(s)\n")
    for label, value in rows:
        print(f"  {label.ljust(width)}  {value}")


if __name__ == "__main__":
    main()
