"""Each exported file, imported by the platform's own rules (tests/lms_importers.py): who would
be imported, skipped, or have a grade erased, for a course where everyone already has a grade.

The course: alice (every key in the roster), erin (an email and a Brightspace id only), zoe (on
the roster, no row: graded without --roster), leo (a row, not on the roster, a duplicate: no
grade). Every student a file leaves out is named in a warning for that file; nothing erases.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

import lms_importers as lms
from conftest import ROOT
from grader.export import export
from grader.rubric import load_rubric

RUBRIC = ROOT / "rubrics" / "ex07.yaml"
TITLE = load_rubric(RUBRIC).title
ROSTER = ("id,name,email,moodle_id,canvas_id,sis_user_id,sis_login_id,section,username,org_defined_id\n"
          'alice,"Liddell, Alice",alice@uni.example,12,501,S-1,alice.l,Tutorial A,aliddell,1001\n'
          'erin,"Erinson, Erin",erin@uni.example,,,,,,,1002\n'
          'zoe,"Zed, Zoe",zoe@uni.example,14,503,S-3,zoe.z,,zzed,1003\n')
BEFORE = {"alice": "10", "erin": "10", "zoe": "10", "leo": "10"}  # the grades already in the platform


@pytest.fixture(scope="module")
def course(tmp_path_factory, three_graded):
    """An output folder where leo is a duplicate, the roster, and every file exported."""
    base = tmp_path_factory.mktemp("lms")
    shutil.copytree(three_graded, base / "out")
    frame = pd.read_csv(base / "out" / "gradebook.csv", dtype={"student": str})
    frame.loc[frame["student"] == "leo", "status"] = "duplicate"
    frame.to_csv(base / "out" / "gradebook.csv", index=False)
    (base / "roster.csv").write_text(ROSTER)
    written, warnings = export(base / "out", roster=base / "roster.csv", assignment=f"{TITLE} (77)",
                               blackboard_column="555")
    totals = dict(zip(frame["student"], frame["total"].map(lambda v: f"{v:.6g}")))
    return base / "out" / "export", warnings, totals


def warned(warnings: list[str], file: str) -> str:
    """Every warning about `file` (warnings about several files name them before the colon)."""
    return "\n".join(w for w in warnings if file in w.split(": ")[0].split(", "))


def test_every_file_warns_about_zoe_without_a_row_and_leo_off_the_roster(course):
    folder, warnings, _ = course
    for file in ("gradebook.csv", "gradebook.xlsx", "moodle.csv", "moodle-grades.csv", "moodle-feedback.zip",
                 "canvas.csv", "blackboard.csv", "brightspace.csv", "gradescope/"):
        text = warned(warnings, file)
        assert "1 roster student without a row" in text and "Zed, Zoe (zoe)" in text, file
        assert "1 row not on the roster" in text and text.count("leo") >= 1, file


def test_canvas_imports_by_id_and_sis_and_never_erases(course):
    folder, warnings, totals = course
    users = [lms.CanvasUser(501, "Alice Liddell", "Liddell, Alice", "S-1", "alice.l"),
             lms.CanvasUser(502, "Erin Erinson", "Erinson, Erin"),
             lms.CanvasUser(503, "Zoe Zed", "Zed, Zoe", "S-3", "zoe.z"),
             lms.CanvasUser(504, "leo", "leo")]
    names = {"Alice Liddell": "alice", "Erin Erinson": "erin", "Zoe Zed": "zoe", "leo": "leo"}
    before = {u.name: BEFORE[names[u.name]] for u in users}
    outcome = lms.canvas(folder / "canvas.csv", users, {77: TITLE}, before)
    assert not outcome.failed and outcome.created == [] and outcome.erased == []
    assert outcome.imported == {"Alice Liddell": totals["alice"], "Erin Erinson": totals["erin"]}
    text = warned(warnings, "canvas.csv")
    assert "Canvas matches them by name only" in text and "Erinson, Erin (erin)" in text
    assert "status duplicate), so the platform keeps the grade it has: leo" in text
    assert "names no Canvas assignment id" not in text


def test_canvas_rules_a_blank_erases_and_a_bare_title_creates(tmp_path):
    """What the importer does with what we no longer write: a blank cell, a title without id."""
    path = tmp_path / "old.csv"
    path.write_text("Student,ID,SIS User ID,SIS Login ID,Section,Sheet 7\n    Points Possible,,,,,55\n"
                    "leo,,leo,,,\n")
    outcome = lms.canvas(path, [lms.CanvasUser(504, "leo", "leo")], {77: "Exercise 7"}, {"leo": "10"})
    assert outcome.erased == ["leo"] and outcome.created == ["assignment Sheet 7"]


def test_moodle_worksheet_matches_only_participant_numbers(course):
    folder, warnings, totals = course
    participants = {12: "alice", 13: "erin", 14: "zoe", 15: "leo"}
    outcome = lms.moodle_worksheet(folder / "moodle.csv", participants, BEFORE)
    assert not outcome.failed and outcome.skipped == [] and outcome.erased == []
    assert outcome.imported == {"alice": totals["alice"]}
    text = warned(warnings, "moodle.csv")
    assert "with no moodle_id in the roster" in text and "Erinson, Erin (erin)" in text
    assert "status duplicate), so the platform keeps the grade it has: leo" in text


def test_moodle_worksheet_headers_are_read_in_the_uploaders_language(course):
    other = {"recordid": "Kennung", "grade": "Bewertung", "lastmodifiedgrade": "Zuletzt geändert (Bewertung)",
             "hiddenuser": "Teilnehmer/in "}  # any language but English: the columns are not found
    outcome = lms.moodle_worksheet(course[0] / "moodle.csv", {12: "alice"}, BEFORE, other)
    assert outcome.failed and not outcome.imported


def test_moodle_worksheet_rules_skip_an_unknown_participant_silently(tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_text("Identifier,Grade,Last modified (grade)\nParticipant 99,5,\n,5,\n")
    outcome = lms.moodle_worksheet(path, {12: "alice"}, BEFORE)
    assert outcome.skipped == ["Participant 99", "(no identifier)"] and not outcome.imported


def test_moodle_gradebook_import_by_email(course):
    folder, warnings, totals = course
    emails = {"alice@uni.example": "alice", "erin@uni.example": "erin", "zoe@uni.example": "zoe"}
    outcome = lms.moodle_gradebook(folder / "moodle-grades.csv", emails, BEFORE, TITLE)
    assert not outcome.failed, outcome.failed
    assert outcome.imported == {"alice": totals["alice"], "erin": totals["erin"]} and outcome.erased == []
    assert "status duplicate" in warned(warnings, "moodle-grades.csv")


def test_moodle_gradebook_rules_abort_on_an_unknown_email_and_erase_on_a_blank(tmp_path):
    path = tmp_path / "grades.csv"
    path.write_text("Email address,Sheet\nalice@uni.example,\n")
    assert lms.moodle_gradebook(path, {"alice@uni.example": "alice"}, BEFORE, "Sheet").erased == ["alice"]
    path.write_text("Email address,Sheet\nstranger@uni.example,5\n")
    assert "usermappingerror" in lms.moodle_gradebook(path, {"alice@uni.example": "alice"}, BEFORE, "Sheet").failed


def test_moodle_feedback_files_reach_their_participants(course):
    folder, warnings, _ = course
    outcome = lms.moodle_feedback_files(folder / "moodle-feedback.zip", {12: "alice", 13: "erin", 14: "zoe"})
    assert outcome.imported == {"alice": "feedback.html"} and outcome.skipped == []
    assert "Erinson, Erin (erin); leo" in warned(warnings, "moodle-feedback.zip")


def test_blackboard_by_username_into_the_existing_column(course):
    folder, warnings, totals = course
    outcome = lms.blackboard(folder / "blackboard.csv", {"aliddell": "alice", "zzed": "zoe"}, {"555": TITLE}, BEFORE)
    assert not outcome.failed and outcome.created == [] and outcome.erased == [] and outcome.skipped == []
    assert outcome.imported == {"alice": totals["alice"]}
    text = warned(warnings, "blackboard.csv")
    assert "with no username in the roster" in text and "Erinson, Erin (erin)" in text
    assert "status duplicate" in text


def test_blackboard_file_quotes_every_value(course):
    lines = (course[0] / "blackboard.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == f'"Last Name","First Name","Username","{TITLE} [Total Pts: 55 Score] |555"'
    assert all(line.startswith('"') and line.endswith('"') for line in lines)


def test_brightspace_by_org_defined_id_then_username(course):
    folder, warnings, totals = course
    outcome = lms.brightspace(folder / "brightspace.csv", {"1001": "alice", "1002": "erin", "1003": "zoe"},
                              {"aliddell": "alice", "zzed": "zoe"}, [TITLE], BEFORE)
    assert not outcome.failed and outcome.created == [] and outcome.erased == [] and outcome.skipped == []
    assert outcome.imported == {"alice": totals["alice"], "erin": totals["erin"]}
    assert "status duplicate" in warned(warnings, "brightspace.csv")


def test_without_roster_keys_the_id_stands_in_and_every_file_says_so(course, tmp_path):
    (tmp_path / "roster.csv").write_text("id,name,email\nalice,Alice,alice@uni.example\nerin,Erin,\n")
    _, warnings = export(course[0].parent, to=tmp_path / "x", roster=tmp_path / "roster.csv",
                         formats=["canvas", "blackboard", "brightspace", "moodle-grades"])
    assert "SIS User ID is the student id" in warned(warnings, "canvas.csv")
    assert "Username is the student id" in warned(warnings, "blackboard.csv")
    assert "Username is the student id" in warned(warnings, "brightspace.csv")
    assert "no --blackboard-column given" in warned(warnings, "blackboard.csv")
    assert "with no email in the roster" in warned(warnings, "moodle-grades.csv")
    outcome = lms.brightspace(tmp_path / "x" / "brightspace.csv", {}, {"alice": "alice", "erin": "erin"},
                              [TITLE], BEFORE)
    assert set(outcome.imported) == {"alice", "erin"} and outcome.erased == []
