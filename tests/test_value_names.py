"""Short names (`value` checks of type str) are judged as a whole: a hedge never passes.

An answer names the expected value or one `accept` synonym, up to case, surrounding white
space and quotes, trailing punctuation, an article and a generic noun ("the FNN layers"),
or a parenthesised abbreviation ("Feed-forward network (FFN)"). A string that lists
several candidates ("attention/embedding/fnn") is judged by every name in it.
"""

from __future__ import annotations

import pytest

from grader.checks import compare
from grader.kinds.value import judge_value, normalize
from grader.compare import Rules
from grader.rubric import Question, Tolerance, ValueCheck
from grader.runner import Reply


def largest(rubric, plan, answer):
    question = next(q for q in rubric.questions if q.id == "3e")
    check = next(c for c in question.checks if c.id == "LARGEST_COMPONENT")
    return judge_value(question, check, plan.values["3e", "LARGEST_COMPONENT"], Reply("ok", value=answer),
                       rubric.tolerance)


@pytest.mark.parametrize("answer", ["attention/embedding/fnn", "fnn/attention", "attention or fnn", "fnn or embedding",
                                    "attention, embedding, fnn", "fnn, attention", "fnn and attention",
                                    "fnn; attention",
                                    "fnn | attention", "fnn & embedding", "fnn + attention", "FNN (or attention)",
                                    "fnn vs. attention", "attention fnn", "fnn\nattention", "fnn/layer norm",
                                    "fnn/embeddings"])
def test_a_hedge_earns_nothing(rubric, plan, answer):
    result = largest(rubric, plan, answer)
    assert (result.outcome, result.auto_points, result.mistake) == ("failed", 0, None), result.feedback


@pytest.mark.parametrize("answer", ["fnn", "FNN", "Fnn", " fnn. ", "fnn!", "'fnn'", "(FNN)", "the FNN", "FNN layers",
                                    "feed-forward network", "Feed-Forward network (FFN)", "feed_forward", "MLP",
                                    "fully connected layers", "position-wise feed-forward network", "MLP / FNN",
                                    "Feed-forward neural network (FFN)"])
def test_one_name_of_the_answer_passes(rubric, plan, answer):
    result = largest(rubric, plan, answer)
    assert (result.outcome, result.auto_points) == ("passed", 1), result.feedback


def test_every_accepted_synonym_passes_on_its_own(rubric, plan):
    check = next(c for _, c in rubric.checks() if c.id == "LARGEST_COMPONENT")
    for answer in [plan.values["3e", "LARGEST_COMPONENT"], *check.accept]:
        assert largest(rubric, plan, answer).outcome == "passed", answer
        assert largest(rubric, plan, answer.upper() + ".").outcome == "passed", answer


@pytest.mark.parametrize("answer,mistake", [("attention", "attention"), ("Multi-head attention", "attention"),
                                            ("self-attention", "attention"), ("the embedding", "embedding"),
                                            ("Embedding.", "embedding")])
def test_a_known_mistake_is_still_named(rubric, plan, answer, mistake):
    result = largest(rubric, plan, answer)
    assert (result.outcome, result.mistake) == ("mistake", mistake)


def test_a_mistake_qualified_by_the_right_answer_is_a_hedge(rubric, plan):
    assert largest(rubric, plan, "fnn attention").mistake is None
    assert largest(rubric, plan, "attention/embedding").mistake is None


def test_a_hedge_does_not_earn_a_mistakes_credit():
    check = ValueCheck.model_validate({"id": "c", "kind": "value", "name": "C", "type": "str", "points": 2,
                                       "accept": ["right"],
                                       "mistakes": [{"id": "half", "value": "close", "credit": 0.5, "feedback": "f"}]})
    question = Question.model_validate({"id": "9z", "checks": [check.model_dump()]})
    judge = lambda answer: judge_value(question, check, "right", Reply("ok", value=answer), Tolerance())  # noqa: E731
    assert (judge("close").auto_points, judge("the close one").auto_points) == (1.0, 0)
    assert judge("close/wrong").auto_points == 0 and judge("close or right").auto_points == 0
    assert judge("Right.").auto_points == 2


def test_normalize_keeps_inner_punctuation():
    assert normalize("  Feed-Forward. ") == "feed forward"
    assert normalize("a/b/c") == "a/b/c" and normalize("a, b") == "a, b"
    normalized = Rules(0, 0, mode="normalized")
    assert compare("fnn", "FNN.", 0, 0, normalized) is None and compare("fnn", "fnn/attention", 0, 0, normalized)
    assert compare("fnn", "FNN.", 0, 0) is not None  # a function's strings compare exactly by default


def test_a_choice_between_letters_is_not_read_as_an_article():
    check = ValueCheck.model_validate({"id": "c", "kind": "value", "name": "C", "type": "str", "points": 1})
    question = Question.model_validate({"id": "9z", "checks": [check.model_dump()]})
    judge = lambda answer: judge_value(question, check, "b", Reply("ok", value=answer), Tolerance())  # noqa: E731
    assert judge("B").outcome == "passed" and judge("(b)").outcome == "passed"
    assert judge("A B").outcome == "failed" and judge("a/b").outcome == "failed" and judge("a or b").outcome == "failed"
