"""The `grade` command. Thin: options are parsed here, the work is done by `pipeline`.

One error boundary: a GradeError becomes one line on stderr and exit status 2; anything
unexpected becomes one line too (exit 3), with the traceback only under -v.
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import sys
import time
from pathlib import Path

import click
from click_default_group import DefaultGroup

from . import __version__
from .errors import GradeError, ReferenceLoadError, RubricError
from .sandbox import SANDBOX_MODES, choose

# The rubric models (pydantic), the reference, numpy and pandas are imported by the commands
# that use them: `grade check` on a student's machine needs none of them to start.

RUBRICS = Path("rubrics")  # where a course keeps its rubrics, relative to where grade runs


def default_rubric(out: Path, submissions: Path | None = None) -> Path:
    """The rubric when none is given: the one OUT was last graded with (while its file is
    there), else the rubric in ./rubrics/ named as the SUBMISSIONS folder (`ex07/` is graded
    with rubrics/ex07.yaml), else the only rubric in ./rubrics/."""
    from .record import read_record

    record = read_record(out)
    if record and isinstance(record.get("path"), str) and Path(record["path"]).is_file():
        return Path(record["path"])
    found = course_rubrics()
    if submissions is not None and submissions.resolve().name in found:
        return found[submissions.resolve().name]
    if len(found) == 1:
        return next(iter(found.values()))
    if not found:
        raise GradeError("no rubric given and none in ./rubrics/: pass --rubric RUBRIC")
    raise GradeError(f"no rubric given and {len(found)} in ./rubrics/ ({', '.join(p.name for p in found.values())}):"
                     " pass --rubric RUBRIC, or name the submissions folder as its rubric")


def course_rubrics() -> dict[str, Path]:
    """The course's rubrics in ./rubrics/, by name (the file's stem)."""
    return {path.stem: path for path in sorted([*RUBRICS.glob("*.yaml"), *RUBRICS.glob("*.yml")])}


def course_sheets(submissions: Path, out: Path) -> list[tuple[Path, Path, Path]]:
    """When SUBMISSIONS holds a folder per sheet, named as the rubrics in ./rubrics/
    (`ex07/`, `textproc/`), and nothing says which rubric to use: (submissions, rubric, out)
    for each sheet, graded into OUT/<sheet>/. Otherwise none."""
    from .record import read_record

    found = course_rubrics()
    if len(found) < 2 or read_record(out) or submissions.resolve().name in found or not submissions.is_dir():
        return []
    return [(submissions / name, rubric, out / name) for name, rubric in found.items()
            if (submissions / name).is_dir()]


def friendly_errors(command):
    @functools.wraps(command)
    def wrapper(*args, verbose: bool = False, **kwargs):
        try:
            return command(*args, **kwargs)
        except GradeError as exc:
            if verbose:
                raise
            click.echo(f"grade: error: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("grade: interrupted; every result graded so far is kept: run the same command "
                       "again to resume", err=True)
            sys.exit(130)
        except Exception as exc:  # the last line of defence: never a bare traceback
            if verbose:
                raise
            click.echo(f"grade: internal error: {type(exc).__name__}: {exc} (run again with -v for details)",
                       err=True)
            sys.exit(3)
    return click.option("-v", "--verbose", is_flag=True, help="Show tracebacks of errors.")(wrapper)


@click.group(cls=DefaultGroup, default="run", default_if_no_args=False)
@click.version_option(__version__, prog_name="grade")
def cli() -> None:
    """Grade exercise sheets: `grade SUBMISSIONS` grades a folder of submissions."""


@cli.command("run")
@click.argument("submissions", type=click.Path(path_type=Path))
@click.option("--rubric", type=click.Path(path_type=Path), default=None,
              help="Rubric file (default: the one --out was graded with, else the only one in ./rubrics/).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("grades"), show_default=True,
              help="Folder for gradebook.csv, results.csv and feedback/.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Submissions graded at once (default: one more than the number of cores).")
@click.option("--sandbox", type=click.Choice(SANDBOX_MODES), default=None,
              help="auto: sandbox when bubblewrap works, else say loudly it did not; required: refuse "
                   "to run without it; off: no sandbox (default: the rubric's setting, else auto).")
@click.option("--force", is_flag=True,
              help="Grade every submission again, ignoring results kept from earlier runs.")
@click.option("--only", metavar="IDS", default=None,
              help="Grade these students again (comma-separated ids); the others come from kept results.")
@click.option("--roster", type=click.Path(path_type=Path), default=None,
              help="CSV with id,name,email: enrolled students without a submission get a `missing` row.")
@click.option("--timestamps", type=click.Path(path_type=Path), default=None,
              help="CSV with id,submitted_at for the rubric's deadline (default: the files' modification times).")
@click.option("--dask", metavar="SCHEDULER", default=None,
              help="Run the submissions on a Dask cluster (tcp://host:8786), or `local` for one of --jobs worker "
                   "processes; the outputs are those of a local run.")
@friendly_errors
def run_command(submissions: Path, rubric: Path | None, out: Path, jobs: int | None, sandbox: str | None,
                force: bool, only: str | None, roster: Path | None, timestamps: Path | None,
                dask: str | None) -> None:
    """Grade every submission in SUBMISSIONS and write the gradebook, results and feedback.

    Each student's result is kept in DIR/.grade/ as soon as it exists: an interrupted run
    resumes where it stopped, and an unchanged submission is not run again.
    """
    signal.signal(signal.SIGTERM, _interrupt)
    regrade = [name.strip() for name in only.split(",") if name.strip()] if only else None
    sheets = course_sheets(submissions, out) if rubric is None else []
    for folder, sheet, sheet_out in sheets or [(submissions, rubric, out)]:
        if sheets:
            click.echo(f"{folder.name} (graded with {sheet}):")
        summary = main(submissions=folder, rubric=sheet, out=sheet_out, jobs=jobs, sandbox=sandbox, force=force,
                       only=regrade, roster=roster, timestamps=timestamps, progress=sys.stderr.isatty(), dask=dask)
        click.echo(describe_summary(summary, sheet_out))


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _one_blas_thread() -> None:
    """Before numpy is imported: judging needs no BLAS threads, and the students' processes
    need the cores (an idle OpenBLAS thread of the grader spins, taking a core's time from
    them: about 6 % of a run's CPU, measured)."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")


def _few_malloc_arenas() -> None:
    """Before the grading threads start: glibc gives each thread a malloc arena of its own,
    and memory freed in one is kept there for that thread, so the grader's memory grew with
    the class through its threads' arenas (measured at 1,000 submissions: a peak of 75 MB,
    against 68 MB with one arena). Two arenas; Python's own small objects never use them."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(ctypes.c_int(-8), ctypes.c_int(2))  # M_ARENA_MAX
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


def default_jobs() -> int:
    """Submissions graded at once unless told: one more than the cores, so that while one
    session waits for the grader to read its replies, the cores still run the others
    (measured on 2 cores: 6 % of them idle while grading, against 12 % with one per core)."""
    return (os.cpu_count() or 1) + 1


def main(*, submissions: Path, rubric: Path | None = None, out: Path = Path("grades"),
         jobs: int | None = None, sandbox: str | None = None, force: bool = False,
         only: list[str] | None = None, roster: Path | None = None, timestamps: Path | None = None,
         progress: bool = False, dask: str | None = None):
    """Grade a folder; the library entry point behind `grade SUBMISSIONS`. Returns a Summary."""
    _one_blas_thread()
    _few_malloc_arenas()
    from .ledger import Ledger
    from .semantic import Labelled
    from .outputs import Outputs
    from .pipeline import Summary, grade_all
    from .runner import Runner
    from .store import ResultStore
    from .distributed import DaskRunner
    from .course import read_roster, submission_times
    from .submissions import Submission, discover
    from .rubric import load_rubric

    started = time.monotonic()
    spec = load_rubric(rubric or default_rubric(out, submissions))
    plan = _planned(spec)
    found, warnings = discover(submissions, spec.entry, read=False)
    roster, timestamps = _as_last_time(out, roster, timestamps, warnings)
    enrolled = read_roster(roster) if roster else None
    times = submission_times(found, timestamps) if spec.deadline else {}
    if spec.deadline is not None and timestamps is None:
        late = sum(1 for when in times.values() if when > spec.deadline)
        if found and late * 2 >= len(found):
            warnings.append(f"{late} of {len(found)} submissions count as late by their files' modification times; "
                            "if the files were copied or unpacked, pass the hand-in times with --timestamps")
    if enrolled is not None:
        strangers = sorted({s.student for s in found} - set(enrolled))
        if strangers:
            warnings.append(f"not on the roster: {', '.join(strangers)}")
        handed_in = {s.student for s in found}
        found = sorted(found + [Submission(student, submissions / student, status="missing",
                                           problem="no submission was found for this student")
                                for student in enrolled if student not in handed_in], key=lambda s: s.student)
    regrade = _known_ids(only, found) if only else frozenset()
    cluster = DaskRunner(spec, sandbox or spec.sandbox, dask, jobs) if dask else None  # its workers run the code
    confinement = cluster.confinement if cluster else choose(sandbox or spec.sandbox)
    for warning in warnings:
        click.echo(f"grade: warning: {warning}", err=True)
    if not confinement.sandboxed and any(s.status == "unread" for s in found):
        click.echo(f"grade: WARNING: student code will run {confinement.description}", err=True)
    outputs = Outputs(plan, out)
    if outputs.record is not None:  # what `grade` needs to grade the folder the same way again
        outputs.record.update({name: str(path.resolve()) for name, path in
                               (("roster", roster), ("timestamps", timestamps)) if path is not None})
    outputs.times, outputs.roster = times, set(enrolled) if enrolled is not None else None
    try:
        outputs.prepare()
        ledger = Ledger(out)
        outputs.manual, outputs.ledger = ledger.manual_scores(), ledger
        outputs.reviewed = {key: [Labelled(answer, points) for answer, points in answers]
                            for key, answers in ledger.reviewed_answers().items()}
        store = ResultStore(out, plan, confinement.sandboxed, reuse=not force)
        jobs = max(jobs or default_jobs(), cluster.slots if cluster else 1)
        with cluster or Runner.for_rubric(spec, confinement=confinement) as runner:
            if progress and found:
                students = _with_progress_bar(plan, found, runner, store, outputs, jobs, regrade)
            else:
                students = grade_all(plan, found, runner, store, outputs, jobs=jobs, regrade=regrade)
        outputs.finish(students, found, ledger)
        ledger.close()
    finally:
        outputs.close()
    return Summary(students, warnings, time.monotonic() - started)


def _as_last_time(out: Path, roster: Path | None, timestamps: Path | None,
                  warnings: list[str]) -> tuple[Path | None, Path | None]:
    """--roster and --timestamps: as given, else as the last run of OUT was given them (while
    those files exist), with a warning; a regrade without them would drop the roster's
    students and make everyone late by the files' times."""
    from .record import read_record

    record = read_record(out) or {}
    chosen = []
    for option, given in (("roster", roster), ("timestamps", timestamps)):
        previous = record.get(option)
        if given is None and isinstance(previous, str) and Path(previous).is_file():
            given = Path(previous)
            warnings.append(f"--{option} {previous}, as in the last run of {out} (pass --{option} to use another)")
        chosen.append(given)
    return chosen[0], chosen[1]


def _planned(spec):
    """The grading plan; a rubric the reference refutes is refused with one line that points
    to `grade validate`, which lists every problem at once."""
    from .rubric import see_every_problem

    try:
        return prepare(spec)
    except (RubricError, ReferenceLoadError) as exc:
        raise type(exc)(f"{exc}{see_every_problem(spec.path)}") from None


def prepare(spec):
    """The grading plan of a rubric (reference.prepare, imported when a command needs it)."""
    from .reference import prepare as prepare_plan

    return prepare_plan(spec)


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        click.echo(f"grade: warning: {warning}", err=True)


def _known_ids(only: list[str], found) -> frozenset[str]:
    import difflib

    ids = {s.student for s in found}
    for name in only:
        if name not in ids:
            close = difflib.get_close_matches(name, ids, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise GradeError(f"--only: no submission has the id {name!r}{hint}")
    return frozenset(only)


def _with_progress_bar(plan, found, runner, store, outputs, jobs, regrade):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[last]}"))
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("grading", total=len(found), last="")
        from .pipeline import grade_all

        showing = []

        def done(student: str, step: str) -> None:
            if step == "shown" and not showing:  # every student graded: now each is shown
                showing.append(True)
                bar.reset(task, total=len(found), description="feedback", last="")
            bar.update(task, advance=1, last=student)

        return grade_all(plan, found, runner, store, outputs, jobs=jobs, regrade=regrade, on_done=done)


def _many(count: int, thing: str) -> str:
    return f"{count} {thing}{'' if count == 1 else 's'}"


def describe_summary(summary, out: Path) -> str:
    parts = [f"{summary.count('ok')} ok"]
    labels = {"error": "with errors", "load_error": "did not load", "unreadable": "unreadable", "empty": "empty",
              "duplicate": "duplicate ids", "missing": "missing (on the roster, no submission)"}
    parts += [f"{summary.count(status)} {label}" for status, label in labels.items() if summary.count(status)]
    lines = [f"Graded {_many(len(summary.students), 'student')} in {summary.seconds:.1f} s: {', '.join(parts)}."]
    if summary.unsandboxed:
        lines.append(f"WARNING: {_many(summary.unsandboxed, 'submission')} ran WITHOUT a sandbox; their status says "
                     "so. Install bubblewrap, and use --sandbox required for course runs.")
    if summary.to_review:
        one = summary.to_review == 1
        lines.append(f"{_many(summary.to_review, 'free-text answer')} {'has' if one else 'have'} suggested points "
                     f"and {'awaits' if one else 'await'} review.")
    if summary.warnings:
        lines.append(f"{_many(len(summary.warnings), 'warning')} (above).")
    lines.append(f"Wrote {out / 'gradebook.csv'}, {out / 'results.csv'} and {out / 'feedback'}/.")
    return "\n".join(lines)


@cli.command("assign")
@click.argument("rubric", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=Path("release"), show_default=True,
              help="Folder for the student template (notebook and module) and the self-check bundle.")
@friendly_errors
def assign_command(rubric: Path, out: Path) -> None:
    """Build what students get: the template and the self-check bundle for RUBRIC."""
    from .assign import build_release
    from .rubric import load_rubric

    written = build_release(_planned(load_rubric(rubric)), out)
    click.echo("Wrote " + ", ".join(str(path) for path in written) + ".")
    click.echo("Hand them all out; the bundle holds no reference code, no hidden check and no value answer.")
    click.echo("Hand out the wheel too: students install the checker with `pip install grade-*.whl`, no clone needed.")


@cli.command("validate")
@click.argument("rubric", type=click.Path(path_type=Path))
@friendly_errors
def validate_command(rubric: Path) -> None:
    """List every problem of RUBRIC at once, or summarise it when it is valid.

    Checks the whole file, then runs the reference on every case of every check. Exit status
    0 when the rubric is valid, 2 when it is not.
    """
    from .validate import render, validate

    result = validate(rubric)
    click.echo(render(result))
    if result.problems:
        sys.exit(2)


@cli.command("check")
@click.argument("submission", type=click.Path(path_type=Path))
@click.option("--bundle", type=click.Path(path_type=Path), default=None,
              help="The self-check bundle (default: the one of this sheet among the JSON files beside SUBMISSION).")
@friendly_errors
def check_command(submission: Path, bundle: Path | None) -> None:
    """Run the public checks on your own SUBMISSION before you hand it in."""
    from .selfcheck import check_submission, find_bundle, load_bundle, render

    _one_blas_thread()
    if not submission.exists():
        raise GradeError(f"{submission}: no such file or folder")
    note = ""
    if bundle is None:
        bundle, note = find_bundle(submission)
    loaded = load_bundle(bundle)
    if note:
        click.echo(note, err=True)
    notes: list[str] = []
    lines = check_submission(loaded, submission, notes)
    click.echo(render(loaded, lines, notes))


@cli.command("review")
@click.argument("question", required=False)
@click.option("--out", type=click.Path(path_type=Path), default=Path("grades"), show_default=True,
              help="The output folder of `grade` (it holds grade.db).")
@click.option("--rubric", type=click.Path(path_type=Path), default=None,
              help="Rubric file (default: the one OUT was graded with, if it is unchanged).")
@click.option("--share", default="1/1", show_default=True, metavar="K/N",
              help="Only the K-th of N shares of the students, for N reviewers.")
@click.option("--import", "sheet", type=click.Path(path_type=Path), default=None,
              help="Record the points and comments of a filled-in review sheet.")
@click.option("--reviewer", default=None,
              help="Who reviews (required with --import; with --serve, default: your login name).")
@click.option("--serve", is_flag=True, default=False,
              help="Review QUESTION in the browser: a local page (127.0.0.1 only, with an access token) whose "
                   "scores go straight to the ledger.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port of the --serve page (0: any free port).")
@friendly_errors
def review_command(question: str | None, out: Path, rubric: Path | None, share: str, sheet: Path | None,
                   reviewer: str | None, serve: bool, port: int) -> None:
    """Review one QUESTION's free-text answers across all students (by groups of similar
    answers), in a sheet or in the browser (--serve), or --import a filled-in sheet."""
    from .ledger import Ledger
    from .record import regrade_command, rubric_for
    from .review import import_sheet, write_sheets

    if not (out / "grade.db").exists():
        raise GradeError(f"{out}: no grading results here; run `grade SUBMISSIONS --out {out}` first")
    spec, warnings = rubric_for(out, rubric)
    _warn(warnings)
    if sheet is not None:
        if serve:
            raise GradeError("--import and --serve do not go together: import the sheet, then serve the question")
        if not reviewer:
            raise GradeError("--import needs --reviewer NAME: manual scores are recorded with who gave them")
        ledger = Ledger(out)
        count = import_sheet(spec, ledger, sheet, reviewer)
        click.echo(f"Recorded {count} scores by {reviewer}. Run {regrade_command(out, spec.path)} again to "
                   "update the gradebook (nothing is run again).")
        return
    if not question:
        raise GradeError("name the QUESTION to review (e.g. `grade review 1a`), or --import a filled-in sheet")
    try:
        part, parts = (int(x) for x in share.split("/"))
        assert 1 <= part <= parts
    except (ValueError, AssertionError):
        raise GradeError(f"--share {share!r}: write K/N with 1 <= K <= N, e.g. 2/3") from None

    def warn(warning: str) -> None:
        _warn([warning])

    if serve:
        from .review_server import default_reviewer, serve as serve_review

        serve_review(spec, out, question, reviewer or default_reviewer(), port=port, share=(part, parts),
                     echo=click.echo, warn=warn)
        return
    written = write_sheets(spec, Ledger(out), out, question, (part, parts), warn=warn)
    click.echo("Wrote " + " and ".join(str(p) for p in written) + ".")


@cli.command("export")
@click.option("--out", type=click.Path(path_type=Path), default=Path("grades"), show_default=True,
              help="The output folder of `grade` (it holds gradebook.csv and results.csv).")
@click.option("--rubric", type=click.Path(path_type=Path), default=None,
              help="The rubric OUT was graded with (default: the one OUT recorded, if it is unchanged); it says "
                   "which checks are hidden.")
@click.option("--to", "to", type=click.Path(path_type=Path), default=None,
              help="Folder for the exported files (default: OUT/export/).")
@click.option("--format", "formats", default=None, metavar="FORMATS",
              help="Comma-separated: gradebook, xlsx, moodle, moodle-grades, moodle-feedback, canvas, blackboard, "
                   "brightspace, gradescope, gradescope-autograder (default: all but gradescope-autograder).")
@click.option("--roster", type=click.Path(path_type=Path), default=None,
              help="CSV with the columns id,name,email (optional: moodle_id, canvas_id, sis_user_id, sis_login_id, "
                   "section, username, org_defined_id).")
@click.option("--assignment", default=None, metavar="NAME",
              help="The assignment's column title (default: the rubric's title); for Canvas pass \"Title (ID)\" "
                   "with Canvas's assignment id, so that no new assignment is made.")
@click.option("--blackboard-column", default=None, metavar="ID",
              help="Blackboard's Column ID of the grade column (the |123456 in its downloaded header).")
@click.option("--sandbox", type=click.Choice(SANDBOX_MODES), default="required", show_default=True,
              help="How the Gradescope autograder runs student code: `required` refuses to grade where Gradescope's "
                   "container cannot run the sandbox; `auto` and `off` then run it as root beside the grader, where "
                   "a student can rewrite their own score.")
@friendly_errors
def export_command(out: Path, rubric: Path | None, to: Path | None, formats: str | None, roster: Path | None,
                   assignment: str | None, blackboard_column: str | None, sandbox: str) -> None:
    """Turn an output folder into files for spreadsheets, Moodle, Canvas, Blackboard, Brightspace and Gradescope.

    The columns of each format, and how each platform matches students, are documented in
    grader/export.py and grader/exports/.
    """
    from .export import DEFAULT, export, parse_formats

    chosen = parse_formats(formats) if formats is not None else list(DEFAULT)
    written, warnings = export(out, rubric, to, chosen, roster, assignment, blackboard_column, sandbox)
    _warn(warnings)
    for path in written:
        click.echo(f"Wrote {path}")


@cli.command("report")
@click.option("--out", type=click.Path(path_type=Path), default=Path("grades"), show_default=True,
              help="The output folder of `grade` (it holds grade.db); the report is written there.")
@click.option("--rubric", type=click.Path(path_type=Path), default=None,
              help="Rubric file (default: the one OUT was graded with, if it is unchanged).")
@friendly_errors
def report_command(out: Path, rubric: Path | None) -> None:
    """Write OUT/report.html: how the class did, question by question, with plots."""
    from .ledger import Ledger
    from .record import rubric_for
    from .report import write_report

    if not (out / "grade.db").exists():
        raise GradeError(f"{out}: no grading results here; run `grade SUBMISSIONS --out {out}` first")
    spec, warnings = rubric_for(out, rubric)
    _warn(warnings)
    ledger = Ledger(out)
    path = write_report(spec, ledger, out / "report.html")
    click.echo(f"Wrote {path}.")


def entry_point() -> None:
    cli(prog_name="grade")
