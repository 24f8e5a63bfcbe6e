"""Judging answers on the trusted side (grader/kinds/), against the real ex07 plan."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from grader.checks import CheckResult, compare
from grader.kinds.function import judge_function
from grader.kinds.text import judge_text
from grader.kinds.value import judge_value
from grader.child import wire
from grader.reference import prepare
from grader.rubric import Tolerance, load_rubric
from grader.runner import Reply

ROOT = Path(__file__).resolve().parents[1]
RTOL, ATOL = 1e-4, 1e-8


@pytest.fixture(scope="module")
def rubric():
    return load_rubric(ROOT / "rubrics" / "ex07.yaml")


@pytest.fixture(scope="module")
def plan(rubric):
    return prepare(rubric)


def find(rubric, check_id):
    """(question, check) for a check id that names one check in the rubric."""
    found = [(q, c) for q, c in rubric.checks() if c.id == check_id]
    assert len(found) == 1, check_id
    return found[0]


def function_plan(plan, check_id):
    (fplan,) = [f for (_, cid), f in plan.functions.items() if cid == check_id]
    return fplan


def question_of(rubric, check_id):
    return find(rubric, check_id)[0]


def ok_replies(outputs):
    return [Reply("ok", value=value) for value in outputs]


def as_float32(value):
    if isinstance(value, np.ndarray):
        return value.astype(np.float32).astype(np.float64)
    return float(np.float32(value))


def perturbed(value, factor=1 + 1e-3):
    return value * factor


FUNCTION_IDS = ["clm_objective", "mlm_objective", "fnn", "houlsby_fnn", "houlsby_params", "lora_fnn",
                "lora_params", "lora_delta", "sinusoidal_positional_encoding", "lm_head",
                "multi_head_attention", "num_heads", "gpt3_params"]


INTEGER_IDS = ["houlsby_params", "lora_params", "num_heads", "gpt3_params"]
REAL_IDS = [i for i in FUNCTION_IDS if i not in INTEGER_IDS]


def test_the_plan_has_the_function_checks_these_tests_expect(plan):
    assert sorted(cid for _, cid in plan.functions) == sorted(FUNCTION_IDS)
    for check_id in INTEGER_IDS:
        assert all(type(e) is int for e in function_plan(plan, check_id).expected)
    for check_id in REAL_IDS:
        assert all(isinstance(e, (np.ndarray, float)) for e in function_plan(plan, check_id).expected)


# ---------------------------------------------------------------- compare: arrays


@pytest.mark.parametrize("check_id", REAL_IDS)
def test_float32_answers_pass_and_1e3_relative_errors_fail(plan, check_id):
    fplan = function_plan(plan, check_id)
    for expected in fplan.expected:
        assert compare(expected, as_float32(expected), RTOL, ATOL) is None
        assert compare(expected, as_float32(expected) * (1 + 5e-6), RTOL, ATOL) is None
        assert compare(expected, perturbed(expected), RTOL, ATOL) is not None
        assert compare(expected, perturbed(expected, 1 - 1e-3), RTOL, ATOL) is not None


@pytest.mark.parametrize("check_id", INTEGER_IDS)
def test_integer_counts_are_exact(rubric, plan, check_id):
    fplan = function_plan(plan, check_id)
    rtol = fplan.check.rtol
    assert rtol == 0
    for expected in fplan.expected:
        assert compare(expected, expected, rtol, ATOL) is None
        assert compare(expected, float(expected), rtol, ATOL) is None
        assert compare(expected, expected + 1, rtol, ATOL) is not None


def test_float32_arrays_as_returned_by_a_student_pass(plan):
    expected = function_plan(plan, "multi_head_attention").expected[2]
    answer = wire.decode(json.loads(json.dumps(wire.encode(expected.astype(np.float32)))))
    assert answer.dtype == np.float32
    assert compare(expected, answer, RTOL, ATOL) is None


def test_one_wrong_entry_is_located():
    expected = np.arange(1.0, 13.0).reshape(3, 4)
    answer = expected.copy()
    answer[2, 1] *= 1.01
    problem = compare(expected, answer, RTOL, ATOL)
    assert "1 of 12 entries" in problem and "(2, 1)" in problem


def test_near_zero_entries_are_judged_against_the_scale_of_the_array():
    expected = np.array([1000.0, 0.0, 1e-9])
    assert compare(expected, expected + [0, 1e-4, 1e-4], RTOL, ATOL) is None  # float32 noise
    assert compare(expected, expected + [0, 1.0, 0], RTOL, ATOL) is not None


@pytest.mark.parametrize("bad,word", [(np.nan, "NaN"), (np.inf, "infinite"), (-np.inf, "infinite")])
def test_nan_and_inf_are_reported(bad, word):
    expected = np.ones((2, 3))
    answer = expected.copy()
    answer[1, 2] = bad
    problem = compare(expected, answer, RTOL, ATOL)
    assert problem is not None and word in problem and "1 of 6" in problem


def test_an_all_nan_answer_fails():
    assert "NaN" in compare(np.zeros(4), np.full(4, np.nan), RTOL, ATOL)


def test_shape_mismatch_names_both_shapes():
    problem = compare(np.zeros((4, 16)), np.zeros((16, 4)), RTOL, ATOL)
    assert "(16, 4)" in problem and "(4, 16)" in problem
    problem = compare(np.zeros((3, 5)), np.zeros(15), RTOL, ATOL)
    assert "(15,)" in problem and "(3, 5)" in problem


def test_a_list_of_lists_answers_an_array():
    expected = np.array([[1.0, 2.0], [3.0, 4.5]])
    assert compare(expected, [[1, 2], [3, 4.5]], RTOL, ATOL) is None
    assert compare(expected, [[1, 2], [3, 4.6]], RTOL, ATOL) is not None
    assert "not a numeric array" in compare(expected, [[1, 2], [3]], RTOL, ATOL)
    assert "(2,)" in compare(expected, [1, 2], RTOL, ATOL)


def test_a_boolean_array_is_refused_for_numbers():
    expected = np.array([[1.0, 0.0], [0.0, 1.0]])
    problem = compare(expected, expected.astype(bool), RTOL, ATOL)
    assert problem is not None and "boolean" in problem


@pytest.mark.parametrize("answer", [None, 3.0, "array", {"a": 1}])
def test_non_arrays_are_refused_for_an_array(answer):
    problem = compare(np.zeros((2, 2)), answer, RTOL, ATOL)
    assert problem is not None and "(2, 2)" in problem


def test_empty_arrays_compare_by_shape():
    assert compare(np.zeros((0, 3)), np.zeros((0, 3)), RTOL, ATOL) is None
    assert compare(np.zeros((0, 3)), np.zeros((3, 0)), RTOL, ATOL) is not None


def test_integer_arrays_answer_float_arrays():
    assert compare(np.array([1.0, 2.0]), np.array([1, 2]), RTOL, ATOL) is None


# ---------------------------------------------------------------- compare: numbers and others


def test_a_float_within_tolerance_answers_an_int():
    assert compare(96, 96.0, RTOL, ATOL) is None
    assert compare(96, 96.001, RTOL, ATOL) is None
    assert compare(96, 96.5, RTOL, ATOL) is not None
    assert compare(174_560_575_488, 174_560_575_489, 0.0, 0.0) is not None
    assert compare(174_560_575_488, 174_560_575_488, 0.0, 0.0) is None


def test_nan_and_inf_fail_for_numbers():
    assert "NaN" in compare(1.5, float("nan"), RTOL, ATOL)
    assert "infinite" in compare(1.5, float("inf"), RTOL, ATOL)
    assert "infinite" in compare(96, float("-inf"), RTOL, ATOL)


def test_bool_is_not_a_number():
    problem = compare(1, True, RTOL, ATOL)
    assert problem is not None and "bool" in problem
    assert compare(0.0, False, RTOL, ATOL) is not None


def test_other_types_are_not_numbers():
    assert "str" in compare(96, "96", RTOL, ATOL)
    assert "None" in compare(96, None, RTOL, ATOL)
    assert compare(96, [96], RTOL, ATOL) is not None


def test_a_one_element_array_answers_a_number():
    assert compare(-3.25, np.array([[-3.25]]), RTOL, ATOL) is None
    assert compare(-3.25, np.array([1.0, 2.0]), RTOL, ATOL) is not None


def test_an_enormous_int_is_a_wrong_number_not_a_crash():
    # e.g. d_model ** n_layers instead of n_layers * d_model ** 2
    huge = 12288 ** 96
    assert compare(174_560_575_488, huge, 0.0, 0.0) == "returned a different number"
    assert compare(-12.5, huge, RTOL, ATOL) == "returned a different number"
    assert compare(np.zeros(2), [huge, 1], RTOL, ATOL) is not None


def test_bools_strings_and_lists():
    assert compare(False, False, RTOL, ATOL) is None
    assert compare(False, True, RTOL, ATOL) is not None
    assert "True or False" in compare(False, 0, RTOL, ATOL)
    assert compare("fnn", "fnn", RTOL, ATOL) is None
    assert compare("fnn", "FNN", RTOL, ATOL) is not None  # the auto rule compares strings exactly (issue 11)
    assert compare("fnn", "attention", RTOL, ATOL) is not None
    assert compare([1, 2.0], [1, 2.0], RTOL, ATOL) is None
    assert compare([1, 2.0], [1, 2.5], RTOL, ATOL) is not None
    assert "2 items" in compare([1, 2.0], [1], RTOL, ATOL)


# ---------------------------------------------------------------- judge_function


MISTAKES_WITH_VARIANTS = [
    ("2b", "fnn", "no_relu"), ("2b", "fnn", "relu_after_down"),
    ("1c", "clm_objective", "negated"), ("1c", "clm_objective", "first_token_skipped"),
    ("1c", "mlm_objective", "negated"),
    ("2c", "houlsby_fnn", "no_residual"), ("2c", "houlsby_fnn", "adapter_before_fnn"),
    ("2c", "houlsby_params", "with_biases"),
    ("2e", "lora_fnn", "no_scaling"), ("2e", "lora_fnn", "alpha_not_over_r"),
    ("2e", "lora_params", "square_matrix"),
    ("2g", "lora_delta", "no_scaling"), ("2g", "lora_delta", "alpha_not_over_r"),
    ("3a", "sinusoidal_positional_encoding", "sin_cos_swapped"),
    ("3a", "sinusoidal_positional_encoding", "exponent_i_over_d"),
    ("3a", "sinusoidal_positional_encoding", "exponent_column_index"),
    ("3b", "lm_head", "logits"),
    ("3c", "multi_head_attention", "no_causal_mask"), ("3c", "multi_head_attention", "no_sqrt_scaling"),
    ("3c", "multi_head_attention", "softmax_wrong_axis"),
    ("3d", "num_heads", "product"),
    ("3e", "gpt3_params", "untied_head"), ("3e", "gpt3_params", "learned_positions"),
    ("3e", "gpt3_params", "one_layer"),
]


def test_every_variant_mistake_is_listed(plan):
    listed = {(qid, cid, mid) for qid, cid, mid in MISTAKES_WITH_VARIANTS}
    in_plan = {(qid, cid, m.id) for (qid, cid), f in plan.functions.items()
               for m in f.check.mistakes if m.variant is not None}
    assert listed == in_plan


@pytest.mark.parametrize("qid,check_id,mistake_id", MISTAKES_WITH_VARIANTS)
def test_a_variants_outputs_are_named_as_that_mistake(rubric, plan, qid, check_id, mistake_id):
    fplan = plan.functions[qid, check_id]
    mistake = next(m for m in fplan.check.mistakes if m.id == mistake_id)
    question = question_of(rubric, check_id)
    outputs = fplan.variants[mistake_id]
    assert len(outputs) == len(fplan.cases)
    result = judge_function(question, fplan, ok_replies(outputs), rubric.tolerance)
    assert (result.outcome, result.mistake) == ("mistake", mistake_id)
    assert result.feedback == mistake.feedback
    assert result.auto_points == pytest.approx(mistake.credit * fplan.check.points)
    assert result.points == result.auto_points and result.max_points == fplan.check.points
    assert (result.question, result.check, result.kind) == (qid, check_id, "function")
    if all(isinstance(o, (np.ndarray, float)) for o in outputs):  # computed in float32: still named
        result = judge_function(question, fplan, ok_replies([as_float32(o) for o in outputs]), rubric.tolerance)
        assert result.mistake == mistake_id


@pytest.mark.parametrize("check_id", FUNCTION_IDS)
def test_the_reference_outputs_pass_with_full_points(rubric, plan, check_id):
    fplan = function_plan(plan, check_id)
    result = judge_function(question_of(rubric, check_id), fplan, ok_replies(fplan.expected), rubric.tolerance)
    assert result.outcome == "passed" and result.mistake is None
    assert result.auto_points == fplan.check.points == result.max_points
    assert f"`{check_id}`" in result.feedback and str(len(fplan.cases)) in result.feedback


def test_a_mistake_on_some_cases_only_is_a_plain_failure(rubric, plan):
    fplan = function_plan(plan, "fnn")
    outputs = fplan.variants["no_relu"][:-1] + fplan.expected[-1:]
    result = judge_function(question_of(rubric, "fnn"), fplan, ok_replies(outputs), rubric.tolerance)
    assert result.outcome == "failed" and result.mistake is None and result.auto_points == 0
    assert "case 1 of 4" in result.feedback and "3 of 4 cases fail" in result.feedback


@pytest.mark.parametrize("check_id,argument", [("fnn", "`X`"), ("clm_objective", "`p`"),
                                               ("gpt3_params", "`d_model`")])
def test_modifying_an_argument_fails_and_names_it(rubric, plan, check_id, argument):
    fplan = function_plan(plan, check_id)
    replies = ok_replies(fplan.expected)
    replies[1] = dataclasses.replace(replies[1], mutated=(0,))
    result = judge_function(question_of(rubric, check_id), fplan, replies, rubric.tolerance)
    assert result.outcome == "failed" and result.auto_points == 0
    assert argument in result.feedback and "in place" in result.feedback and "case 2" in result.feedback


BAD_REPLIES = [
    ("missing", Reply("missing"), "missing", "not defined"),
    ("not_callable", Reply("not_callable", detail="int"), "failed", "is an int, not a function"),
    ("timeout", Reply("timeout", detail="did not return within 3 s"), "timeout", "did not return within 3 s"),
    ("crashed", Reply("crashed", detail="the process ended while running it (SIGSEGV)"), "error", "SIGSEGV"),
    ("error", Reply("error", error={"type": "NameError", "message": "name 'np' is not defined", "line": 4}),
     "error", "NameError: name 'np' is not defined (line 4)"),
    ("invalid", Reply("invalid", detail="returned a generator, which cannot be graded"), "failed",
     "a generator"),
]


@pytest.mark.parametrize("status,reply,outcome,words", BAD_REPLIES, ids=[b[0] for b in BAD_REPLIES])
@pytest.mark.parametrize("check_id", ["fnn", "lora_delta", "gpt3_params", "clm_objective"])
def test_replies_without_an_answer(rubric, plan, check_id, status, reply, outcome, words):
    fplan = function_plan(plan, check_id)
    replies = [reply] * len(fplan.cases)
    result = judge_function(question_of(rubric, check_id), fplan, replies, rubric.tolerance)
    assert result.outcome == outcome and result.auto_points == 0 and result.mistake is None
    assert f"`{check_id}`" in result.feedback and words in result.feedback


def test_the_first_problem_decides_the_outcome(rubric, plan):
    fplan = function_plan(plan, "fnn")
    replies = ok_replies(fplan.expected)
    replies[2] = Reply("timeout", detail="did not return within 3 s")
    replies[3] = Reply("timeout", detail="did not return within 3 s")
    result = judge_function(question_of(rubric, "fnn"), fplan, replies, rubric.tolerance)
    assert result.outcome == "timeout" and "case 3 of 4" in result.feedback and "2 of 4" in result.feedback


@pytest.mark.parametrize("check_id", ["lora_delta", "lora_fnn"])
def test_b_times_a_is_named_from_the_shape_error(rubric, plan, check_id):
    fplan = function_plan(plan, check_id)
    error = {"type": "ValueError", "line": 3,
             "message": "matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc "
                        "signature (n?,k),(k,m?)->(n?,m?) (size 16 is different from 2)"}
    result = judge_function(question_of(rubric, check_id), fplan, [Reply("error", error=error)] * len(fplan.cases),
                            rubric.tolerance)
    assert (result.outcome, result.mistake) == ("mistake", "b_times_a")
    assert "B @ A" in result.feedback and result.auto_points == 0
    other = dict(error, type="TypeError")
    result = judge_function(question_of(rubric, check_id), fplan, [Reply("error", error=other)] * len(fplan.cases),
                            rubric.tolerance)
    assert result.outcome == "error" and result.mistake is None


def test_failing_feedback_never_reveals_expected_numbers(rubric, plan):
    fplan = function_plan(plan, "gpt3_params")
    question = question_of(rubric, "gpt3_params")
    for answers in ([e + 1 for e in fplan.expected], [float(e) * 1.5 for e in fplan.expected],
                    [0] * len(fplan.cases), [-e for e in fplan.expected]):
        result = judge_function(question, fplan, ok_replies(answers), rubric.tolerance)
        assert result.outcome == "failed"
        for expected in fplan.expected:
            if expected > 9:  # small numbers occur naturally in case descriptions
                for text in (str(expected), f"{expected:_}", f"{expected:,}", f"{float(expected):g}",
                             f"{float(expected)}"):
                    assert text not in result.feedback


def test_failing_array_feedback_never_reveals_expected_entries(rubric, plan):
    fplan = function_plan(plan, "lora_delta")
    result = judge_function(question_of(rubric, "lora_delta"), fplan,
                            ok_replies([e + 1 for e in fplan.expected]), rubric.tolerance)
    assert result.outcome == "failed"
    digits = [f"{v:.3f}" for e in fplan.expected for v in e.ravel()[:5] if abs(v) > 0.1]
    assert digits and not any(d in result.feedback for d in digits)


def test_check_tolerance_overrides_the_rubric_default(rubric, plan):
    fplan = function_plan(plan, "houlsby_params")  # rtol: 0, integer answers exact
    question = question_of(rubric, "houlsby_params")
    near = [e + 1 for e in fplan.expected]
    assert judge_function(question, fplan, ok_replies(near), rubric.tolerance).outcome == "failed"
    loose = Tolerance(rtol=0.5, atol=0.0)
    fplan_with_default = dataclasses.replace(fplan, check=fplan.check.model_copy(update={"rtol": None}))
    assert judge_function(question, fplan_with_default, ok_replies(near), loose).outcome == "passed"


# ---------------------------------------------------------------- judge_value


def value(rubric, plan, check_id, answer, status="ok", **reply):
    question, check = find(rubric, check_id)
    got = None if status is None else Reply(status, value=answer, **reply)
    return judge_value(question, check, plan.values[question.id, check_id], got, rubric.tolerance)


@pytest.mark.parametrize("answer", [96, 96.0, wire.decode(wire.encode(np.int64(96))),
                                    wire.decode(wire.encode(np.float32(96))), 96.00001])
def test_n_heads_passes(rubric, plan, answer):
    result = value(rubric, plan, "N_HEADS", answer)
    assert result.outcome == "passed" and result.auto_points == 1 and result.mistake is None
    assert "Note" not in result.feedback


def test_n_heads_mistakes(rubric, plan):
    result = value(rubric, plan, "N_HEADS", 96.5)
    assert (result.outcome, result.mistake, result.auto_points) == ("mistake", "not_integer", 0)
    assert "whole number" in result.feedback
    result = value(rubric, plan, "N_HEADS", 1572864)
    assert (result.outcome, result.mistake) == ("mistake", "product")
    assert "12288 * 128" in result.feedback
    result = value(rubric, plan, "N_HEADS", 95)
    assert (result.outcome, result.mistake) == ("failed", None) and "`N_HEADS`" in result.feedback
    assert "96" not in result.feedback


@pytest.mark.parametrize("answer", [True, "96", [96], float("nan"), 12288 ** 96],
                         ids=["True", "str", "list", "nan", "12288**96"])
def test_n_heads_of_the_wrong_kind_fails(rubric, plan, answer):
    result = value(rubric, plan, "N_HEADS", answer)
    assert result.outcome in ("failed", "mistake") and result.auto_points == 0


def test_a_value_left_as_the_templates_none_is_missing(rubric, plan):
    result = value(rubric, plan, "N_HEADS", None)
    assert (result.outcome, result.auto_points) == ("missing", 0) and "not answered yet" in result.feedback


@pytest.mark.parametrize("answer", [174_560_575_488, 174.56e9, 174_560_575_488.0, 174_600_000_000])
def test_gpt3_params_passes(rubric, plan, answer):
    result = value(rubric, plan, "GPT3_PARAMS", answer)
    assert result.outcome == "passed" and result.auto_points == 2
    assert "Note" not in result.feedback


@pytest.mark.parametrize("answer,mistake", [
    (175e9, "paper_rounding"), (175_000_000_000, "paper_rounding"),
    (175_174_975_488, "untied_head"),
    (174.560575488, "billions"), (174.56, "billions"),
    (2_426_339_328, "one_layer"),
])
def test_gpt3_params_mistakes(rubric, plan, answer, mistake):
    result = value(rubric, plan, "GPT3_PARAMS", answer)
    assert (result.outcome, result.mistake, result.auto_points) == ("mistake", mistake, 0)
    assert "174560575488" not in result.feedback and "174_560_575_488" not in result.feedback


def test_rubric_mistake_values_have_their_checks_type(rubric):
    kinds = {"int": (int, float), "float": (int, float), "bool": (bool,), "str": (str,)}
    for _, check in rubric.checks():
        for mistake in getattr(check, "mistakes", []):
            if check.kind == "value" and mistake.value is not None:
                assert type(mistake.value) in kinds[check.type], (check.id, mistake.id, mistake.value)


def test_a_rubric_mistake_value_of_the_wrong_type_is_refused(rubric):
    from pydantic import ValidationError

    _, check = find(rubric, "GPT3_PARAMS")
    data = check.model_dump()
    data["mistakes"][0]["value"] = "175.0e9"  # what YAML 1.1 makes of an unquoted 175.0e9
    with pytest.raises(ValidationError, match="175.0e9 as text"):
        type(check).model_validate(data)


@pytest.mark.parametrize("answer", [float("nan"), float("inf")])
def test_n_heads_nan_or_inf_is_not_called_a_fraction(rubric, plan, answer):
    result = value(rubric, plan, "N_HEADS", answer)
    assert result.outcome == "failed" and result.mistake is None


def test_gpt3_params_with_learned_positions_passes_with_a_note(rubric, plan):
    assert abs(174_585_741_312 / 174_560_575_488 - 1) < 5e-4  # within the contract's 0.05 %
    result = value(rubric, plan, "GPT3_PARAMS", 174_585_741_312)
    assert result.outcome == "passed" and result.auto_points == 2 and result.mistake is None
    assert "Note:" in result.feedback and "learned positional embeddings" in result.feedback


def test_gpt3_params_beyond_the_tolerance_fails(rubric, plan):
    result = value(rubric, plan, "GPT3_PARAMS", 174_560_575_488 * 1.001)
    assert result.outcome == "failed" and "174" not in result.feedback


@pytest.mark.parametrize("check_id", ["HOULSBY_FNN_ONLY", "LORA_FNN_ONLY", "HOULSBY_MERGEABLE"])
def test_booleans(rubric, plan, check_id):
    assert value(rubric, plan, check_id, False).outcome == "passed"
    assert value(rubric, plan, check_id, wire.decode(wire.encode(np.bool_(False)))).outcome == "passed"
    result = value(rubric, plan, check_id, True)
    assert result.outcome == "failed" and result.auto_points == 0
    assert value(rubric, plan, check_id, None).outcome == "missing"  # the template's placeholder
    for answer in (0, "False"):
        result = value(rubric, plan, check_id, answer)
        assert result.outcome == "failed" and "True or False" in result.feedback


@pytest.mark.parametrize("answer", ["fnn", "FNN", "FFN", "Feed-Forward network (FFN)", "the MLP",
                                    "feed forward layers", "feedforward", "  Fnn. "])
def test_largest_component_synonyms_pass(rubric, plan, answer):
    result = value(rubric, plan, "LARGEST_COMPONENT", answer)
    assert result.outcome == "passed" and result.auto_points == 1


@pytest.mark.parametrize("answer,mistake", [("attention", "attention"), ("Multi-head attention", "attention"),
                                            ("the embedding", "embedding")])
def test_largest_component_mistakes(rubric, plan, answer, mistake):
    result = value(rubric, plan, "LARGEST_COMPONENT", answer)
    assert (result.outcome, result.mistake) == ("mistake", mistake)


def test_largest_component_as_a_sentence_fails(rubric, plan):
    answer = ("I think that the largest part of all the parameters is in the feed forward network layers "
              "of GPT-3 overall")
    assert len(answer.split()) == 20
    result = value(rubric, plan, "LARGEST_COMPONENT", answer)
    assert result.outcome == "failed" and result.auto_points == 0 and result.mistake is None
    assert "short name" in result.feedback


@pytest.mark.parametrize("answer", ["layer norm", "fnnx", 3, ["fnn"]])
def test_largest_component_failures(rubric, plan, answer):
    result = value(rubric, plan, "LARGEST_COMPONENT", answer)
    assert result.outcome == "failed" and result.auto_points == 0 and result.mistake is None


def test_n_positional_encoding_layers(rubric, plan):
    assert value(rubric, plan, "N_POSITIONAL_ENCODING_LAYERS", 1).outcome == "passed"
    result = value(rubric, plan, "N_POSITIONAL_ENCODING_LAYERS", 96)
    assert (result.outcome, result.mistake) == ("mistake", "one_per_layer")


@pytest.mark.parametrize("check_id", ["N_HEADS", "GPT3_PARAMS", "HOULSBY_MERGEABLE", "LARGEST_COMPONENT"])
def test_value_replies_without_a_value(rubric, plan, check_id):
    for status, outcome in [(None, "missing"), ("missing", "missing"), ("timeout", "error"),
                            ("crashed", "error"), ("invalid", "failed")]:
        result = value(rubric, plan, check_id, None, status=status, detail="the detail")
        assert result.outcome == outcome and result.auto_points == 0
        assert f"`{check_id}`" in result.feedback


# ---------------------------------------------------------------- judge_text


def test_a_good_answer_gets_all_suggested_points(rubric):
    question, check = text_check(rubric, "1a")
    answer = ("Pre-training is a first, generic training stage, before fine-tuning on tasks, "
              "that needs large amounts of unlabelled raw text (self-supervised).")
    result = judge_text(question, check, answer, "ANSWER_1A")
    assert result.outcome == "needs_review" and result.auto_points == 2 == result.max_points
    assert result.manual_points is None and result.points == 2
    assert "Covers: " in result.feedback and "Not found" not in result.feedback


def text_check(rubric, qid):
    return next((q, c) for q, c in rubric.checks() if q.id == qid and c.kind == "text")


def test_a_partial_answer_gets_partial_points(rubric):
    question, check = text_check(rubric, "1a")
    result = judge_text(question, check, "It is the first stage, done before fine-tuning.", "ANSWER_1A")
    assert result.outcome == "needs_review" and result.auto_points == 1 and result.manual_points is None
    assert "Covers: a first, generic training stage" in result.feedback
    assert "Not found: large amounts of unlabelled raw text" in result.feedback


def test_an_answer_meeting_no_criterion_gets_zero_but_is_still_reviewed(rubric):
    question, check = text_check(rubric, "1a")
    result = judge_text(question, check, "Something about cats and dogs.", "ANSWER_1A")
    assert result.outcome == "needs_review" and result.auto_points == 0 and result.manual_points is None


def test_criteria_ignore_case(rubric):
    question, check = text_check(rubric, "1b")
    result = judge_text(question, check, "CAUSAL language modelling and MASKED language modelling", "ANSWER_1B")
    assert result.auto_points == 2


def test_a_too_short_answer_is_left_to_the_reviewer(rubric):
    question, check = text_check(rubric, "1b")
    result = judge_text(question, check, "masked LM", "ANSWER_1B")
    assert result.outcome == "needs_review" and result.auto_points == 0 and result.manual_points is None


def test_a_non_string_answer_fails(rubric):
    question, check = text_check(rubric, "1a")
    result = judge_text(question, check, 42, "ANSWER_1A")
    assert result.outcome == "failed" and result.auto_points == 0
    assert "ANSWER_1A" in result.feedback and "int" in result.feedback


def test_no_answer_is_missing_and_says_where_to_write_it(rubric):
    question, check = text_check(rubric, "2g")
    result = judge_text(question, check, None, "ANSWER_2G")
    assert result.outcome == "missing" and result.auto_points == 0
    assert "answer:2g" in result.feedback and "ANSWER_2G" in result.feedback


def test_manual_points_win_over_automatic_ones():
    auto = CheckResult("1a", "answer", "text", 2.0, 1.0, "needs_review", "Suggested 1/2")
    assert auto.points == 1.0
    assert dataclasses.replace(auto, manual_points=1.5).points == 1.5
    assert dataclasses.replace(auto, manual_points=0.0).points == 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        auto.manual_points = 2.0  # type: ignore[misc]


def test_nothing_in_a_result_is_nan(rubric, plan):
    question, check = find(rubric, "GPT3_PARAMS")
    result = judge_value(question, check, plan.values["3e", "GPT3_PARAMS"], Reply("ok", value=float("nan")),
                         rubric.tolerance)
    assert result.outcome == "failed" and not math.isnan(result.points)


# ---------------------------------------------------------------- text answers a student made hostile


def test_a_regex_bomb_answer_costs_the_grader_a_moment(rubric):
    """`adapter.*(lora|...)` backtracks quadratically on "adapter adapter ...": 96 KB of it
    took about 40 s of grader CPU. Capped and searched under a time limit, it takes a moment."""
    question, check = text_check(rubric, "2a")
    started = time.process_time()
    result = judge_text(question, check, "adapter " * 12000, "ANSWER_2A")
    assert time.process_time() - started < 0.5
    assert result.outcome == "needs_review" and result.auto_points == 0
    assert "Not checked (matching took too long; the reviewer decides): names and describes two methods" \
        in result.feedback
    assert "truncated at 20,000 characters" in result.feedback and len(result.answer) == 20_000


def test_every_text_answer_of_a_submission_shares_one_time_budget():
    from grader.kinds.text import MatchBudget
    from grader.rubric import Question

    exponential = {"points": 1, "description": "a slow pattern", "any": ["(x+x+)+y", "(a|aa)+z", "x.*x.*x.*y"]}
    question = Question.model_validate({"id": "9z", "checks": [
        {"id": "answer", "kind": "text", "points": 10, "criteria": [exponential] * 10}]})
    check = question.checks[0]
    budget = MatchBudget()
    started = time.process_time()
    results = [judge_text(question, check, "x" * 5000 + " and " + "a" * 5000, "ANSWER_9Z", budget=budget)
               for _ in range(5)]
    assert time.process_time() - started < 1.0
    assert budget.left <= 0
    assert all(r.auto_points == 0 and "Not checked" in r.feedback for r in results)


def test_a_criterion_met_by_its_first_pattern_spends_nothing_on_the_others():
    """Its later patterns cannot change that it is met: a slow one is not tried, so the
    submission's budget is left for its other answers."""
    from grader.kinds.text import MatchBudget, _pattern_hit

    answer = "LoRA " + "x" * 5000 + " and " + "a" * 5000
    budget = MatchBudget()
    assert _pattern_hit(["lora", "(x+x+)+y", "(a|aa)+z"], answer, budget) is True
    assert budget.left > MatchBudget().left - 0.05
    assert _pattern_hit(["adapter", "(x+x+)+y"], answer, budget) is None  # not found in time: unknown
    assert _pattern_hit(["adapter", "prefix"], answer, MatchBudget()) is False


def test_a_long_answer_is_cut_and_the_feedback_says_so(rubric):
    question, check = text_check(rubric, "1a")
    good = ("Pre-training is a first, generic training stage, before fine-tuning on tasks, "
            "that needs large amounts of unlabelled raw text (self-supervised). ")
    result = judge_text(question, check, good + "padding " * 1_250_000, "ANSWER_1A")  # 10 MB
    assert result.auto_points == 2 and len(result.answer) == 20_000 and result.answer.startswith(good)
    assert "The answer was truncated at 20,000 characters" in result.feedback
    short = judge_text(question, check, good, "ANSWER_1A")
    assert "truncated" not in short.feedback and short.answer == good


def test_the_answer_cap_is_the_rubrics(rubric):
    question, check = text_check(rubric, "1a")
    result = judge_text(question, check, "word " * 1000, "ANSWER_1A", max_chars=100)
    assert len(result.answer) == 100 and "truncated at 100 characters" in result.feedback


def test_an_answer_with_lone_surrogates_can_be_stored(rubric):
    question, check = text_check(rubric, "1a")
    result = judge_text(question, check, "first generic stage \ud800 before fine-tuning", "ANSWER_1A")
    result.answer.encode("utf-8")
    assert result.auto_points == 1


def test_a_mistake_message_pattern_cannot_stall_the_grader_on_a_student_message():
    import time

    from grader.checks import message_matches

    started = time.perf_counter()
    assert message_matches(r"(a+)+$", "a" * 40 + "b") is False  # catastrophic backtracking in `re`
    assert time.perf_counter() - started < 2
    assert message_matches(r"matmul|not aligned", "shapes (1,4) and (16,4) not aligned")


# ---------------------------------------------------------------- compare rules per check (issue 11)


def synthetic(expected, compare="auto", points=2, mistakes=(), variants=None, judge=None, **options):
    """A question and a function plan of one check `f(x)` with these expected outputs."""
    from grader.kinds.function import FunctionPlan
    from grader.rubric import FunctionCheck, Question

    spec = {"id": "f", "kind": "function", "name": "f", "points": points,
            "cases": [{"x": n} for n in range(len(expected))], "mistakes": list(mistakes), **options}
    if compare != "auto":
        spec["compare"] = compare
    if judge is not None:
        spec["judge"] = judge.__name__
    check = FunctionCheck.model_validate(spec)
    question = Question.model_validate({"id": "9z", "checks": [check.model_dump()]})
    plan = FunctionPlan(check, ["x"], [(n,) for n in range(len(expected))], list(expected), variants or {},
                        judge=judge)
    return question, plan


def test_strings_in_a_functions_list_result_compare_exactly():
    """The bug of issue 11: a `tokenize` that never lowercases passed."""
    question, plan = synthetic([["the", "cat"]])
    result = judge_function(question, plan, ok_replies([["The", "cat"]]), Tolerance())
    assert result.outcome == "failed" and result.auto_points == 0
    assert "returned a list whose item at index 0 differs (a different string, which differs only in upper and " \
           "lower case) in case 1 of 1" in result.feedback
    question, plan = synthetic([["the", "cat"]], compare="normalized")
    assert judge_function(question, plan, ok_replies([["The", "cat."]]), Tolerance()).outcome == "passed"


def test_a_functions_result_type_is_the_answer():
    question, plan = synthetic([("a", 1), {"k": {1, 2}}])
    result = judge_function(question, plan, ok_replies([["a", 1], {"k": {1, 2}}]), Tolerance())
    assert result.outcome == "failed" and "returned a list, expected a tuple in case 1 of 2" in result.feedback
    question, plan = synthetic([("a", 1), {"k": {1, 2}}], loose_types=True)
    assert judge_function(question, plan, ok_replies([["a", 1], {"k": {1, 2}}]), Tolerance()).outcome == "passed"


def test_unordered_and_exact_rules_of_a_function_check():
    question, plan = synthetic([[3, 1, 2]], compare="unordered")
    assert judge_function(question, plan, ok_replies([[1, 2, 3]]), Tolerance()).outcome == "passed"
    result = judge_function(question, plan, ok_replies([[1, 2, 2]]), Tolerance())
    assert result.outcome == "failed" and "1 of 3 items matches no expected item" in result.feedback
    question, plan = synthetic([96], compare="exact")
    assert judge_function(question, plan, ok_replies([96]), Tolerance()).outcome == "passed"
    result = judge_function(question, plan, ok_replies([96.0]), Tolerance())
    assert result.outcome == "failed" and "returned a float, expected an int" in result.feedback


def test_a_variant_is_matched_by_the_checks_rule():
    from grader.rubric import FunctionMistake

    mistake = FunctionMistake(id="reversed", variant="f__reversed", feedback="You reversed the list.")
    question, plan = synthetic([[1, 2, 3]], mistakes=[mistake.model_dump()], variants={"reversed": [[3, 2, 9]]},
                               compare="unordered")
    result = judge_function(question, plan, ok_replies([[9, 2, 3]]), Tolerance())
    assert (result.outcome, result.mistake) == ("mistake", "reversed")


def judge_ties(expected, actual, args):
    if sorted(actual) == sorted(expected):
        return True
    if len(actual) == len(expected):
        return 0.5, "the right number of items"
    return False


def test_a_judge_decides_each_case_and_partial_credit_is_the_mean():
    question, plan = synthetic([[1, 2], [3, 4]], judge=judge_ties, points=4)
    assert plan.check.compare == "judge"  # `judge:` alone implies it
    assert judge_function(question, plan, ok_replies([[2, 1], [4, 3]]), Tolerance()).outcome == "passed"
    result = judge_function(question, plan, ok_replies([[2, 1], [5, 6]]), Tolerance())
    assert result.outcome == "failed" and result.auto_points == 3.0  # (1 + 0.5) / 2 of 4 points
    assert "returned a wrong answer (the right number of items) in case 2 of 2" in result.feedback
    assert "Partial credit: 75%." in result.feedback
    result = judge_function(question, plan, [Reply("ok", value=[2, 1]), Reply("timeout", detail="too slow")],
                            Tolerance())
    assert result.outcome == "timeout" and result.auto_points == 2.0


def judge_broken(expected, actual, args):
    return {}["missing"]


def test_a_judge_that_raises_is_an_error_of_that_check_only():
    question, plan = synthetic([[1]], judge=judge_broken)
    result = judge_function(question, plan, ok_replies([[1]]), Tolerance())
    assert result.outcome == "error" and result.auto_points == 0
    assert "could not be graded on case 1 of 1: the grader's judge `judge_broken` raised KeyError" in result.feedback
    assert "problem of the grader, not of your answer" in result.feedback


def structured(kind, expected, answer, **options):
    from grader.rubric import Question, ValueCheck

    check = ValueCheck.model_validate({"id": "V", "kind": "value", "name": "V", "type": kind, "points": 2, **options})
    question = Question.model_validate({"id": "9z", "checks": [check.model_dump()]})
    return judge_value(question, check, expected, Reply("ok", value=answer), Tolerance())


@pytest.mark.parametrize("kind,expected,answer,outcome,words", [
    ("list", [1, "a"], [1, "a"], "passed", "is correct"),
    ("list", [1, "a"], (1, "a"), "failed", "`V` is a tuple, expected a list."),
    ("list", ["a", "b"], ["a", "B"], "failed", "`V` is a list whose item at index 1 differs (a different string"),
    ("tuple", (1, 2), (1, 2.00001), "passed", ""),
    ("dict", {"a": 1}, {"a": 1, "b": 2}, "failed", "`V` is a dict with an unexpected key 'b'."),
    ("set", {"a", "b"}, {"a"}, "failed", "`V` is a set with 1 element missing."),
    ("set", {"a"}, ["a"], "failed", "`V` is a list, expected a set."),
    ("array", np.array([1.0, 2.0]), np.array([1.0, 2.0]), "passed", ""),
    ("array", np.array([1.0, 2.0]), [1.0, 2.0], "failed", "`V` is a list, expected a NumPy array."),
    ("any", [1, {"k": (2,)}], [1, {"k": (2,)}], "passed", ""),
    ("any", [1, {"k": (2,)}], [1, {"k": [2]}], "failed", "(a list, expected a tuple)"),
])
def test_value_checks_of_structured_types(kind, expected, answer, outcome, words):
    result = structured(kind, expected, answer)
    assert result.outcome == outcome and words in result.feedback, result.feedback


def test_loose_types_and_unordered_for_structured_values():
    assert structured("list", [1, 2], (1, 2), loose_types=True).outcome == "passed"
    assert structured("array", np.array([1.0, 2.0]), [1.0, 2.0], loose_types=True).outcome == "passed"
    assert structured("list", [1, 2], [2, 1], compare="unordered").outcome == "passed"
    assert structured("list", [1, 2], [2, 1]).outcome == "failed"


def test_a_structured_value_mistake_is_matched_by_value():
    mistakes = [{"id": "swapped", "value": [2, 1], "feedback": "Swapped.", "credit": 0.5}]
    result = structured("tuple", (1, 2), (2, 1), mistakes=mistakes)
    assert (result.outcome, result.mistake, result.auto_points) == ("mistake", "swapped", 1.0)
    assert structured("tuple", (1, 2), [2, 1], mistakes=mistakes).outcome == "failed"  # a list is no tuple


def test_scalar_value_checks_with_exact_and_normalized_rules():
    assert structured("int", 96, 96.0).outcome == "passed"
    result = structured("int", 96, 96.0, compare="exact")
    assert result.outcome == "failed" and "`V` is a float, expected an int." in result.feedback
    assert structured("int", 96, np.int64(96), compare="exact").outcome == "passed"  # numpy scalars: Python kinds
    assert structured("str", "feed forward", "Feed-Forward!", compare="normalized").outcome == "passed"
    assert structured("str", "feed forward", "fnn", compare="normalized", accept=["FNN"]).outcome == "passed"
    assert structured("str", "fnn", "FNN", compare="exact").outcome == "failed"
    assert structured("str", "fnn", "FNN").outcome == "passed"  # the auto rule of a short name: as before


def test_the_self_check_judges_new_value_types_by_their_form():
    from grader.rubric import Question
    from grader.selfcheck import _form_problem, _stand_in, _value_line

    entry = {"id": "V", "name": "V", "type": "dict", "points": 1}
    question = Question(id="9z", checks=[_stand_in(entry)])
    assert _value_line(question, entry, Reply("ok", value={"a": 1})).verdict == "format only"
    line = _value_line(question, entry, Reply("ok", value=[("a", 1)]))
    assert line.verdict == "failed" and "is a list, expected a dict" in line.message
    assert _form_problem({"form": "number"}, wire.decode(wire.encode(np.float32(1.5)))) is None
    assert _form_problem({"form": "float64"}, 1.5) is None  # a reference's numpy scalar: a number
    assert _form_problem({"form": "number"}, "1.5") == "returned a str, expected a number"


def test_a_numpy_string_is_a_text_answer(rubric):
    question, check = text_check(rubric, "1b")
    answer = wire.decode(wire.encode(np.str_("causal language modelling and masked language modelling")))
    assert type(answer) is np.str_
    result = judge_text(question, check, answer, "ANSWER_1B")
    assert result.auto_points == 2 and type(result.answer) is str


def test_a_value_check_of_an_int_beyond_the_int_str_limit():
    huge = 7 ** 20000  # 16,900 digits
    answer = wire.decode(json.loads(json.dumps(wire.encode(huge))))
    mistakes = [{"id": "plus_one", "value": 5, "feedback": "Off by one."}]
    assert structured("int", huge, answer, rtol=0, mistakes=mistakes).outcome == "passed"
    result = structured("int", huge, answer + 1, rtol=0, mistakes=mistakes)
    assert result.outcome == "failed" and "is a different number" in result.feedback
    assert structured("int", huge, answer + 1).outcome == "passed"  # within the default rtol


def test_a_mistake_that_raises_is_matched_by_a_subclass_too_as_a_case_that_raises_is():
    """A mistake's `raises: KeyError` was matched by the exact class name only, while a case's
    `raises` accepted a subclass."""
    mistake = {"id": "lookup", "raises": "LookupError", "feedback": "you look up instead of checking"}
    question, plan = synthetic([1.0], mistakes=[mistake])
    error = Reply("error", error={"type": "KeyError", "message": "'x'", "mro": ["KeyError", "LookupError",
                                                                                  "Exception", "BaseException"]})
    result = judge_function(question, plan, [error], Tolerance())
    assert (result.outcome, result.mistake) == ("mistake", "lookup")
    other = Reply("error", error={"type": "ValueError", "message": "", "mro": ["ValueError", "Exception"]})
    assert judge_function(question, plan, [other], Tolerance()).mistake is None


def test_a_check_of_one_case_is_not_correct_on_all_1_cases():
    from grader.checks import on_all_cases

    assert on_all_cases(1) == "on its one case"
    assert on_all_cases(3) == "on all 3 cases"
