"""Free text scored by meaning (grader/semantic.py): the embedding runs offline, good answers
in the student's own words beat keyword soups and the rubric's regexes on every free-text
question of Exercise 7, lists, copies and contradictions are flagged, reviewed answers teach
it, and many answers at once are the same as one by one."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import regex

from grader import semantic
from grader.errors import GradeError
from grader.rubric import TEXT_FLAGS, load_rubric
from grader.semantic import (
    CriterionSpec,
    Labelled,
    ModelUnavailable,
    Suggestion,
    suggest,
    suggest_many,
)

ROOT = Path(__file__).resolve().parents[1]
RUBRIC = load_rubric(ROOT / "rubrics" / "ex07.yaml")
TEXT_CHECKS = {q.id: (q, c) for q in RUBRIC.questions for c in q.checks if c.kind == "text"}

# Per free-text question of Exercise 7: a literal answer in the rubric's own (textbook) words, and
# pairs of a good answer in a student's own words and a keyword soup of the same concepts. The
# known misses of the regexes are among them: "no human annotation" (1a, not "unlabelled"), "a very
# big collection of many different topics" (1d, not "large" or "diverse"), W^O (2f, 3c, not W_O).
PAIRS = {
    "1a": (
        ("Pre-training is a first, generic training stage before the model is adapted to downstream tasks; it "
         "uses large amounts of unlabelled raw text and is self-supervised."),
        [
            (("The model has already learned how language works in general, and only afterwards is it "
              "specialised for the job we care about, which is why it is called pre-trained rather than just "
              "trained. For this we need a huge amount of ordinary text, and no human annotation is needed."),
             "first generic unlabeled raw text self-supervised causal masked"),
            (("Pre-trained means the network was taught broad knowledge of language in an earlier phase, before "
              "anyone tunes it for a particular task, so 'trained' alone would hide that a second step follows. "
              "The data is plain text collected from books and the web, and nobody has to mark up the examples "
              "because the text itself supplies the targets."),
             ("pre-training, generic, first stage, before fine-tuning, unlabelled, raw text, self-supervised, "
              "large corpus")),
            (("We call it pre-trained because this training happens at the start and is not aimed at any one "
              "task; the model is later specialised. It reads a huge amount of text as it is, with no human "
              "annotation, and learns by predicting words that are hidden or come next."),
             "generic initial stage unlabelled raw text self-supervised downstream adaptation large data"),
        ],
    ),
    "1b": (
        ("Causal (autoregressive) language modelling, i.e. next-token prediction, and masked language modelling "
         "(cloze / denoising)."),
        [
            (("The first is causal language modelling: the model predicts each word from the words before it, "
              "as GPT does. The second hides some of the words of a sentence and the model must fill them in "
              "from the context on both sides, as BERT does."),
             "causal autoregressive next-token masked cloze denoising MLM objectives"),
            (("One is autoregressive training, where each token is predicted from the tokens before it. The "
              "other is the BERT objective: some input tokens are hidden behind a mask token and the network "
              "has to reconstruct them."),
             "causal LM, masked LM, next token, cloze, denoising, autoregressive"),
            (("GPT-style models learn to continue a text by predicting what comes next given everything to its "
              "left, while BERT-style models learn to recover the words that were masked out of the middle of a "
              "sentence."),
             "autoregressive left-to-right next word masked tokens cloze BERT GPT"),
        ],
    ),
    "1d": (
        ("Large, diverse, high-quality text; we must consider filtering, deduplication, the domain and language "
         "mix, bias, licensing, privacy and contamination of benchmarks."),
        [
            (("We need a very big collection of many different topics, written well. When choosing it we should "
              "throw away spam and duplicated documents, check that we are allowed to use it, and avoid text "
              "that contains people's private information or unfair stereotypes."),
             ("large diverse high-quality web books filtering deduplication bias licensing privacy "
              "contamination")),
            (("Huge amounts of text from many sources such as websites, books and code, so that the model sees "
              "every kind of writing. We should clean it: remove copies of the same page, keep out harmful "
              "content, respect copyright, and make sure that benchmark test sets are not inside the training "
              "data."),
             "big, diverse, quality, web, books, wikipedia, filter, dedup, toxic, copyright, privacy"),
            (("As much text as we can get, covering many subjects and styles, but of good quality. Important "
              "factors are how the data was cleaned, whether the mix of subjects and languages fits what we "
              "want the model to do, and whether personal data or copyrighted material is included."),
             "large diverse data quality domain language mix bias license privacy leak"),
        ],
    ),
    "1e": (
        ("Fine-tuning means we continue training the pre-trained parameters on task data; unlike pre-training "
         "it uses smaller, usually labelled, task-specific data."),
        [
            (("Fine-tuning takes the weights that came out of pre-training and keeps adjusting them with extra "
              "training on the job we actually care about. Compared with pre-training it needs far less data, "
              "but those examples come with the correct answers written by people for that one task."),
             "continue training pre-trained weights labelled task-specific small data"),
            (("We start with the model we already have and train it a bit more on examples of our own problem, "
              "for instance reviews with their ratings. Pre-training used huge raw text; fine-tuning uses a "
              "modest dataset in which people wrote the right output for every input of the task."),
             "fine-tuning, pre-trained parameters, update, labelled, small, task-specific, supervised"),
            (("Instead of learning from scratch, the network continues from its pre-trained state and is "
              "trained further on a dataset for one particular application, such as question answering; this "
              "dataset is much smaller and is usually annotated by people."),
             "further training initialised weights downstream labelled supervised smaller dataset"),
        ],
    ),
    "1f": (
        ("Memory and compute: the parameters, gradients and optimizer state do not fit on one device, so "
         "training needs parallelism across devices and is costly."),
        [
            (("The weights together with their gradients and the Adam statistics take up far more space than a "
              "single graphics card can hold, so the work has to be split over a whole cluster of machines, "
              "which costs a lot of money and electricity."),
             "memory compute GPU gradients optimizer state parallelism distributed cost"),
            (("A model this big simply does not fit into the RAM of one accelerator, and the number of "
              "arithmetic operations is enormous. We therefore have to spread the model and the data across "
              "hundreds of chips that talk to each other, and a training run becomes very pricey."),
             "memory, compute, device, parallel, sharding, expensive, energy"),
            (("Storing billions of weights plus their gradients takes far more memory than one machine has, and "
              "the arithmetic is enormous, so the training must be divided among many machines, which takes "
              "weeks and millions of dollars."),
             "GPU memory gradients optimizer states distributed training many GPUs cost communication"),
        ],
    ),
    "2a": (
        ("PEFT freezes the pre-trained weights and trains only a small set of parameters; two methods are "
         "adapters (small bottleneck layers inserted in each block) and LoRA (a low-rank update of the weight "
         "matrices)."),
        [
            (("The big pre-trained network is kept unchanged and we learn just a handful of extra weights, "
              "which saves memory and storage. Houlsby adapters insert little bottleneck layers after the "
              "sublayers, and LoRA adds a product of two thin matrices to a weight matrix."),
             "freeze weights small parameters adapters LoRA prefix tuning BitFit"),
            (("Rather than updating all the weights, we leave the original ones as they are and train a tiny "
              "number of new parameters. For example, LoRA learns a low-rank correction for the attention "
              "matrices, while prefix tuning learns some extra vectors that are put in front of the keys and "
              "values."),
             "frozen backbone, few trainable parameters, adapter, LoRA, low-rank"),
            (("Only a small part of the model is trained, and everything else stays as it was after "
              "pre-training. Adapters are small modules added inside every transformer layer; BitFit trains "
              "only the bias terms and leaves the rest untouched."),
             "PEFT freeze subset parameters adapters LoRA prompt tuning"),
        ],
    ),
    "2c": (
        ("The hyperparameter is the bottleneck size m, much smaller than d; it is set by validation or a "
         "search, with a near-identity initialisation."),
        [
            (("The adapter's one hyperparameter is the size of its narrow middle layer, a number far below the "
              "model width d. People pick it by trying a few values and keeping the one that does best on "
              "held-out data, and the adapter weights start close to zero so that the block first behaves like "
              "the identity."),
             "bottleneck size m small validation search near-identity initialisation"),
            (("The main hyperparameter is the inner dimension of the down-projection, which is chosen much "
              "lower than d, for example 8 to 64. It is usually picked by a grid search over a few candidate "
              "sizes on held-out data."),
             "bottleneck dimension, m << d, tuning, validation, zero init"),
            (("We have to choose the reduced width of the adapter, typically between 8 and 256 while d is in "
              "the thousands; its value trades accuracy against the number of new parameters and is selected on "
              "a validation split."),
             "hidden size m bottleneck hyperparameter search initialise near identity"),
        ],
    ),
    "2d": (
        "No: an adapter acts on any sublayer's output, e.g. after attention too.",
        [
            (("No. An adapter only needs a d-dimensional vector as its input, so it can also be inserted after "
              "the multi-head self-attention sublayer, not just after the FNN."),
             "attention any sublayer output residual adapter placement"),
            (("No. The adapter is a small residual module that takes a hidden vector and returns one of the "
              "same size, so we can put it behind every sublayer of the block, not just the feed-forward one."),
             "no, attention, other sublayers, any module, output"),
            (("They are not limited to the FNN: an adapter only maps a hidden state to a hidden state of the "
              "same size, so it can be placed after the attention sublayer of each block as well."),
             "attention sublayer any layer output adapter insertion"),
        ],
    ),
    "2e": (
        ("The hyperparameters are the rank r and the scaling alpha (and which matrices to adapt); r is small, "
         "alpha is fixed or tuned, and B is initialised to zero."),
        [
            (("We choose the inner size of the two thin matrices, that is how many columns A has, and a scale "
              "factor for the update. The inner size is kept tiny, like 4 or 8, the scale is usually left at a "
              "constant such as 16, and one of the two matrices starts at all zeros so that training begins "
              "from the original model."),
             "rank r alpha scaling small r zero initialisation tuned"),
            (("There are two: the low-rank dimension r and the factor alpha that multiplies the update, which "
              "is divided by r. Typically r is a small number like 8, alpha is kept fixed, and B starts as zero "
              "so that the update is zero at first."),
             "rank, alpha, scaling, B zero, small rank, validation"),
            (("LoRA needs the dimension of the bottleneck between its two factors and a multiplier for the "
              "learned change, plus a choice of which weight matrices get the update. Usually the dimension is "
              "between 1 and 64, the multiplier is not searched but fixed, and the second factor is filled with "
              "zeros at the start."),
             "low-rank r alpha/r scaling factor zero init tuned small"),
        ],
    ),
    "2f": (
        "No: LoRA can be applied to any weight matrix, e.g. the attention projections W_Q, W_K, W_V, W_O.",
        [
            (("No, LoRA just adds a low-rank term to a weight matrix, so the same trick works for W^O and the "
              "other projections of the heads."),
             "attention projections W_Q W_K W_V W_O any weight matrix"),
            (("No. Any linear layer's matrix can get a low-rank update, for instance the matrices that produce "
              "the queries and the values in self-attention."),
             "W^Q, W^K, W^V, W^O, attention, any linear layer"),
            (("It is not restricted to the feed-forward block: the low-rank trick can be added to every "
              "projection in the model, for example W^Q, W^K, W^V and W^O in the heads."),
             "any matrix attention queries keys values output projection"),
        ],
    ),
    "2g": (
        ("The update merges into the weight, so there is no extra inference latency and tasks can be swapped; "
         "Houlsby adapters cannot, because of the nonlinearity between their projections."),
        [
            (("After training we can simply add the low-rank product into W_up once, so the fine-tuned model "
              "needs no extra time at inference and runs as fast as the original one. Houlsby adapters cannot "
              "be written like that, since the ReLU between their down and up projections prevents collapsing "
              "them into one matrix."),
             "merge weights no latency swap tasks Houlsby nonlinearity"),
            (("The change can be baked into the original matrix, so inference needs no additional time and we "
              "can switch between tasks by adding or subtracting different updates. This does not work for "
              "Houlsby adapters because their bottleneck applies a non-linear function, which cannot be pulled "
              "into a single matrix."),
             "merged into W_up, no extra latency, ReLU, nonlinear, cannot"),
            (("Because W_up + Delta W_up is just one matrix, we compute it once before deployment and nothing "
              "extra happens at prediction time. With Houlsby adapters this is impossible: the activation "
              "function sits between the two adapter matrices, so the result is not linear in X."),
             "fold update into weight no inference cost houlsby activation nonlinearity"),
        ],
    ),
    "3a": (
        ("Self-attention is order-agnostic (permutation-equivariant), so the order of the tokens must be "
         "injected; there is one positional encoding layer, at the input."),
        [
            (("Self-attention treats its input as a set: shuffling the tokens just shuffles the outputs, so "
              "without information about where each token is, the model could not tell 'dog bites man' from "
              "'man bites dog'. We add the encodings once, to the embeddings at the bottom, so there is one "
              "such layer."),
             "order permutation invariant attention position information input once"),
            (("Self-attention looks at all tokens at the same time and has no notion of which word came first, "
              "so the arrangement of the sequence has to be given to it explicitly; the encodings are added "
              "only once, before the first layer."),
             "self-attention, permutation-equivariant, order, bag of words, one layer"),
            (("Without them the transformer would see a sentence as an unordered collection of words, because "
              "the attention weights do not depend on where a token sits. They are used a single time, at the "
              "input."),
             "order agnostic attention position injected input embeddings once"),
        ],
    ),
    "3b": (
        ("It maps the last hidden states to a probability distribution over the vocabulary; its weights are "
         "tied to the token embedding matrix (the transpose)."),
        [
            (("The head turns the final hidden vector of each position into probabilities for every possible "
              "next token, using a softmax. Usually it reuses the input word lookup table, so the same matrix "
              "is used to read tokens in and to score them at the output."),
             "vocabulary distribution softmax embedding matrix tied transpose"),
            (("It projects the last layer's states onto a score for each word of the vocabulary and normalises "
              "these scores into probabilities; its matrix is shared with the input embeddings."),
             "logits, vocab, softmax, tied embeddings, E transpose, output"),
            (("The LM head is the final linear layer plus a softmax that turns the last hidden state into a "
              "probability for each token that could come next. Its weights are the token embeddings of the "
              "input, shared, only used the other way round."),
             "hidden states vocabulary distribution weight tying embedding matrix"),
        ],
    ),
    "3c": (
        ("MHA(X) = concat(SA_1(X), ..., SA_n(X)) W_O, and theta_MHA is the union of the heads' parameters and "
         "W_O."),
        [
            (("The outputs of all n heads are placed side by side and then multiplied by W^O: MHA(X) = "
              "[SA_1(X), ..., SA_n(X)] W^O. Its parameters are those of every head together with W^O."),
             "concat heads W_O output projection union parameters"),
            (("We stack the head outputs next to each other along the feature axis and apply one final "
              "projection matrix; theta_MHA contains theta_SA_1 up to theta_SA_n plus this matrix."),
             "concatenation, SA_i, W^O, union of theta_SA_i, output projection"),
            (("MHA(X) = [SA_1(X) ... SA_n(X)] W^O, where the brackets join the results of the heads "
              "column-wise; the parameter set is all the heads' weights and the mixing matrix W^O."),
             "concat SA_1 SA_n W_O theta union heads parameters"),
        ],
    ),
}



def hit(criterion, answer: str) -> bool | None:
    """Whether one of the criterion's regexes matches, as the grader searches them."""
    if not criterion.any:
        return None
    return any(regex.search(pattern, answer, TEXT_FLAGS) for pattern in criterion.any)


def specs(check, answer: str) -> list[CriterionSpec]:
    return [CriterionSpec(c.points, c.description, tuple(c.examples), hit(c, answer)) for c in check.criteria]


def regex_points(check, answer: str) -> float:
    return sum(c.points for c in check.criteria if hit(c, answer))


def rubric_text(question, check) -> str:
    return "\n".join([question.prompt] + [c.description for c in check.criteria]
                     + [e for c in check.criteria for e in c.examples])


def score(qid: str, answer: str, reviewed=()) -> Suggestion:
    question, check = TEXT_CHECKS[qid]
    return suggest(answer, specs(check, answer), check.points, model_answers=tuple(check.model_answer),
                   reviewed=reviewed, rubric_text=rubric_text(question, check))


# ---------------------------------------------------------------- the model


def test_the_interface():
    assert semantic.DIM == 256 and "WordLlama" in semantic.MODEL
    assert issubclass(ModelUnavailable, GradeError)
    vectors = semantic.embed(["Pre-training uses unlabelled text.", "", "LoRA adds a low-rank update."])
    assert vectors.shape == (3, 256) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), [1, 0, 1], atol=1e-5)
    assert semantic.embed([]).shape == (0, 256)


def test_embed_is_the_models_own_normalised():
    import wordllama
    from wordllama import WordLlama

    model = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    texts = ["Masked language modelling hides words.", "The LM head maps hidden states to the vocabulary."]
    theirs = model.embed(texts)
    theirs /= np.linalg.norm(theirs, axis=1, keepdims=True)
    assert np.allclose(semantic.embed(texts), theirs, atol=1e-5)


def test_the_model_is_read_without_importing_its_package():
    """Importing wordllama (an HTTP client for downloads with it) cost more than reading the
    model does, in every process that suggests: its files are read directly."""
    code = ("import sys; from grader import semantic; semantic.embed(['x']); "
            "print(sorted(m for m in ('wordllama', 'requests', 'urllib3') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]"]


def test_the_model_loads_once_for_all_threads(monkeypatch):
    monkeypatch.setattr(semantic, "_model", None)
    loads = []
    real = semantic._load_model

    def slow_load():
        loads.append(1)
        time.sleep(0.2)  # every thread arrives while the model is loading
        return real()

    monkeypatch.setattr(semantic, "_load_model", slow_load)
    results = []
    threads = [threading.Thread(target=lambda: results.append(semantic.embed(["same text"]))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1 and len(results) == 4
    assert all(np.array_equal(results[0], r) for r in results)


def test_a_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(semantic, "_model", None)
    monkeypatch.setitem(sys.modules, "wordllama", None)  # import wordllama raises ImportError
    with pytest.raises(ModelUnavailable, match="pip install"):
        semantic.embed(["anything"])


OFFLINE = textwrap.dedent("""
    import socket
    attempts = []
    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("no network in this test")
    # any connection, name lookup or datagram is refused and counted (a library may still make a
    # socket without using it: urllib3 probes IPv6 support when imported)
    socket.socket.connect = socket.socket.connect_ex = socket.socket.sendto = refuse
    socket.create_connection = socket.getaddrinfo = refuse
    from grader import semantic
    vectors = semantic.embed(["offline, please", ""])
    print(vectors.shape, round(float((vectors ** 2).sum()), 4), "connections", len(attempts))
""")


def _isolated() -> list[str]:
    """A command prefix that runs without any network, where the machine allows it."""
    if shutil.which("unshare"):
        try:
            if subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10, check=False).returncode == 0:
                return ["unshare", "-n"]
            if subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=10, check=False).returncode == 0:
                return ["unshare", "-rn"]
        except (OSError, subprocess.SubprocessError):
            pass
    return []


def test_embed_works_offline_and_connects_nowhere():
    env = {key: value for key, value in os.environ.items() if "PROXY" not in key.upper()}
    env.update(PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="0")  # offline by itself, not by a setting
    done = subprocess.run(_isolated() + [sys.executable, "-c", OFFLINE], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["(2,", "256)", "1.0", "connections", "0"], done.stdout


# ---------------------------------------------------------------- Exercise 7's free text


def test_every_free_text_question_has_its_pairs():
    assert set(PAIRS) == set(TEXT_CHECKS)
    assert all(len(pairs) >= 3 for _, pairs in PAIRS.values())


@pytest.mark.parametrize("qid", sorted(PAIRS))
def test_own_words_beat_keyword_soup_and_the_regexes(qid):
    _question, check = TEXT_CHECKS[qid]
    literal, pairs = PAIRS[qid]
    by_regex = regex_points(check, literal)
    assert by_regex == check.points  # the textbook wording gets everything from the regexes
    for paraphrase, soup in pairs:
        good, listed = score(qid, paraphrase), score(qid, soup)
        assert good.points >= by_regex, (paraphrase, good)
        assert good.points > listed.points, (paraphrase, good, soup, listed)
        assert good.flags == (), (paraphrase, good.flags)
        assert semantic.FLAG_LIST in listed.flags, (soup, listed)
        assert good.points % 0.5 == 0 and 0 <= good.points <= check.points
        assert [d for d, _ in good.criteria] == [c.description for c in check.criteria]


@pytest.mark.parametrize("qid, answer, criterion", [
    ("1a", ("The model first learns general language skills from a huge amount of ordinary text, and no human "
           "annotation is needed."), 1),
    ("1d", "We need a very big collection of many different topics, written well.", 0),
    ("2f", ("No, LoRA just adds a low-rank term to a weight matrix, so the same trick works for W^O and the "
           "other projections of the heads."), 0),
    ("3c", ("MHA(X) = [SA_1(X), ..., SA_n(X)] W^O: the heads side by side, times W^O; its parameters are every "
           "head's and W^O."), 0),
])
def test_what_the_regexes_missed_is_met_by_meaning(qid, answer, criterion):
    _question, check = TEXT_CHECKS[qid]
    assert not hit(check.criteria[criterion], answer)
    result = score(qid, answer)
    assert result.criteria[criterion][1] >= 0.75, result


@pytest.mark.parametrize("qid, answer", [
    ("1a", "My cat likes to sleep on the sofa in the afternoon, and in the evening she plays with a ball."),
    ("1a", PAIRS["3c"][1][0][0]),
    ("3c", PAIRS["1d"][1][0][0]),
    ("3c", "The weather in Berlin was sunny and warm yesterday afternoon."),
    ("2f", "Bubble sort compares neighbouring elements and swaps them until the list is sorted."),
])
def test_an_off_topic_answer_meets_no_criterion(qid, answer):
    result = score(qid, answer)
    assert result.points == 0 and all(fraction < 0.5 for _, fraction in result.criteria), result


def test_the_issues_keyword_soup_is_flagged_and_scores_less():
    paraphrase = PAIRS["1a"][1][0][0]
    soup = score("1a", "first generic unlabeled raw text self-supervised causal masked")
    assert semantic.FLAG_LIST in soup.flags
    assert soup.points < score("1a", paraphrase).points
    assert "keyword list" in soup.reasons


@pytest.mark.parametrize("qid, answer", [
    ("1b", "Causal language modelling and masked language modelling."),
    ("3c", "MHA(X) = [SA_1(X), ..., SA_n(X)] W_O, the heads side by side times W_O; theta_MHA = theta_SA_1 U ... U "
           "theta_SA_n U {W_O}."),
    ("2e", "FNN'(X) = ReLU(X (W_up + alpha/r A B)) W_down with A (d x r), B (r x 4d). Hyperparameters: the rank r, "
           "small, and alpha, fixed; B starts at zero."),
    ("2g", "The update merges into the weight, so no\nextra inference latency. Houlsby adapters cannot be merged due "
           "to the nonlinearity between their projections."),
    ("1a", "It is a first, general stage on huge amounts of unlabelled text; the labels come from the text itself."),
])
def test_terse_formulas_and_real_answers_are_not_flagged(qid, answer):
    question, check = TEXT_CHECKS[qid]
    result = score(qid, answer)
    assert result.flags == () and result.points >= regex_points(check, answer), result


def test_a_contradiction_is_flagged():
    good = score("1a", PAIRS["1a"][1][0][0])
    both = score("1a", "Pre-training is a first, generic stage before fine-tuning, and it uses huge amounts of "
                       "unlabelled text. But the model is not trained on unlabelled data.")
    denied = score("1a", "Pre-training is a first, generic stage before the model is fine-tuned for a task, but it "
                         "is not trained on unlabelled data.")
    assert semantic.FLAG_CONTRADICTS in both.flags and both.points < good.points
    assert semantic.FLAG_DENIES in denied.flags and denied.points < good.points
    assert denied.criteria[1][1] < 0.5 <= denied.criteria[0][1]


def test_repeating_the_rubric_is_flagged_and_scores_less():
    _question, check = TEXT_CHECKS["1a"]
    copied = score("1a", "; ".join(c.description for c in check.criteria))
    assert semantic.FLAG_COPY in copied.flags
    assert copied.points < score("1a", PAIRS["1a"][1][0][0]).points


@pytest.mark.parametrize("qid, answer", [
    ("2g", "In an emergency, call the fire brigade and leave the building at once."),  # 'merg'
    ("1f", "The main benefit of walking every day is better health and a good mood."),  # 'fit'
    ("3a", "We crossed the border at night and the guards checked our passports."),  # 'order'
])
def test_a_regex_hit_helps_but_does_not_decide(qid, answer):
    question, check = TEXT_CHECKS[qid]
    with_hit = suggest(answer, specs(check, answer), check.points, rubric_text=rubric_text(question, check))
    without = suggest(answer, [CriterionSpec(c.points, c.description) for c in check.criteria], check.points,
                      rubric_text=rubric_text(question, check))
    assert hit(check.criteria[0], answer)
    assert without.criteria[0][1] < with_hit.criteria[0][1] < 0.5
    assert with_hit.points <= 0.5


# ---------------------------------------------------------------- learning from reviewed answers


REVIEWED_1A = [  # a strict TA: what the zero-shot suggestion rates highly, they do not always
    ("Pre-training is the first stage: the model learns general language from lots of raw text.", 1.0),
    ("The model is trained once in general and then adapted; the data is unlabelled text.", 1.5),
    ("Pre-trained means trained before, on a lot of data.", 0.5),
    ("It is trained first on raw text without labels, a generic stage before fine-tuning.", 2.0),
    ("Pre-training happens before fine-tuning, and it needs labelled data from humans.", 0.5),
    ("Pre-training learns from huge unlabelled corpora, self-supervised, before any task.", 2.0),
    ("A pre-trained model has weights that were already trained.", 0.0),
    ("We pre-train on images and text pairs.", 0.0),
    ("The first phase of training uses the whole internet as text, with no annotations.", 1.5),
    ("It means the model knows language already because someone trained it earlier.", 0.5),
]


def test_reviewed_answers_move_their_near_duplicates():
    reviewed = [Labelled(a, p) for a, p in REVIEWED_1A]
    moved = 0
    for answer, points in REVIEWED_1A:
        near = answer.rstrip(".") + ", I think."
        alone, taught = score("1a", near), score("1a", near, reviewed)
        assert taught.points == points, (near, points, taught)
        assert taught.confidence > alone.confidence
        assert "10 reviewed answers" in taught.reasons
        moved += alone.points != points
    assert moved >= 5  # the zero-shot suggestion was elsewhere: the reviewers moved it


def test_the_same_answer_gets_the_reviewed_points_for_sure():
    reviewed = [Labelled(a, p) for a, p in REVIEWED_1A]
    same = score("1a", "  PRE-TRAINED means trained   before, on a lot of data.", reviewed)
    assert same.points == 0.5 and same.confidence == 1.0


def test_confidence_rises_with_close_agreeing_neighbours():
    answer = "Pre-training first learns general language from a huge pile of unlabelled text, before any task."
    alone = score("1a", answer)
    variants = [answer.replace("huge", word) for word in ("big", "vast", "large")]
    agreeing = score("1a", answer + " Yes.", [Labelled(v, 2.0) for v in variants])
    disagreeing = score("1a", answer + " Yes.", [Labelled(v, p) for v, p in zip(variants, (0.0, 1.0, 2.0))])
    far = score("1a", answer + " Yes.", [Labelled(a, p) for a, p in REVIEWED_1A[6:8]])
    assert agreeing.confidence > alone.confidence
    assert agreeing.confidence > disagreeing.confidence
    assert agreeing.confidence > far.confidence


# ---------------------------------------------------------------- many at once


def test_suggest_many_is_suggest_one_by_one():
    question, check = TEXT_CHECKS["1a"]
    answers = [p for pair in PAIRS["1a"][1] for p in pair] + [
        "", "   ", "?!", "Pré-training ünlabelled tëxt — über alles", "No.", PAIRS["2g"][1][0][0],
        "Pre-training is a first, generic stage, but it is not trained on unlabelled data."]
    criteria = [specs(check, a) for a in answers]
    reviewed = [Labelled(a, p) for a, p in REVIEWED_1A]
    for given in ((), reviewed):
        together = suggest_many(answers, criteria, check.points, reviewed=given,
                                rubric_text=rubric_text(question, check))
        alone = [suggest(a, c, check.points, reviewed=given, rubric_text=rubric_text(question, check))
                 for a, c in zip(answers, criteria)]
        assert together == alone
    assert together[answers.index("")].points == 0.0


def test_points_are_half_points_within_the_maximum():
    _question, check = TEXT_CHECKS["1d"]
    answers = [p for pair in PAIRS["1d"][1] for p in pair] + ["large diverse text", ""]
    for max_points in (0.75, 1.0, 2.0, 3.5):
        criteria = [CriterionSpec(max_points / 2, c.description) for c in check.criteria]
        for result in suggest_many(answers, criteria, max_points):
            assert result.points % 0.5 == 0 and 0 <= result.points <= max_points
            assert 0 <= result.confidence <= 1 and result.max_points == max_points


def test_a_check_without_criteria_scores_against_the_model_answer():
    model = "Self-attention does not know the order of the tokens, so positions must be added to the input."
    close = "Attention alone cannot tell the order of the words, so we add positions to the embeddings."
    off = "The FNN has two projections and a ReLU between them."
    near, far = suggest_many([close, off], (), 2.0, model_answers=(model,))
    assert near.points > far.points
    with pytest.raises(ValueError):
        suggest("anything", (), 2.0)


def test_a_thousand_answers_take_little_time():
    question, check = TEXT_CHECKS["1d"]
    base = [p for pair in PAIRS["1d"][1] for p in pair]
    answers = [f"{base[i % len(base)]} ({i})" for i in range(1000)]
    semantic.embed(["warm up"])
    started = time.perf_counter()
    results = suggest_many(answers, [specs(check, a) for a in answers], check.points,
                           reviewed=[Labelled(a, 1.0) for a in base], rubric_text=rubric_text(question, check))
    assert len(results) == 1000
    assert time.perf_counter() - started < 3.0  # about 0.3 s here; 14 checks x 1,000 students in the bench


# ---------------------------------------------------------------- the question, and the class's answers

BINARY_QUESTION = "Why does binary search need the array to be sorted?"
BINARY_MODEL = ("Binary search compares the target with the middle element and discards the half that cannot "
                "contain it; this only works when the elements are in order.")

HASH_QUESTION = "What is a hash table and how does it handle collisions?"
HASH_MODEL = ("A hash table stores key-value pairs in an array of buckets; a hash function maps each key to a bucket "
              "index, giving constant average time for insertion and lookup. Two keys that hash to the same bucket "
              "collide: chaining keeps a linked list per bucket, open addressing probes for the next free slot, and "
              "the table is resized when the load factor grows.")
HASH_GOOD = [
    ("A hash function turns the key into an index of an array. When two keys get the same index, the entries are "
     "kept in a list at that index."),
    "It maps keys to array positions with a hash function; collisions are handled by chaining.",
    "Keys are hashed to buckets. If a bucket is taken we look for the next free slot.",
    "It is a table of keys and values where the key is hashed; on a collision it uses a linked list.",
    "The key is converted to a number which picks the bucket; two keys in one bucket are chained together.",
]
HASH_WEAK = [
    "A hash table uses a hash function to find where a value is stored, so lookups are fast.",
    "Hashing gives each key a slot; collisions go to another slot.",
    "A structure for fast lookup by key.",
    "It is like an array but with keys.",
]
HASH_OFF = ["A tree where every node has two children.", "It sorts the elements with quicksort.",
            "Hash tables are used in databases."]
HASH_CLASS = HASH_GOOD + HASH_WEAK + HASH_OFF


def model_check(model: str, points: float = 5.0) -> list[CriterionSpec]:
    return [CriterionSpec(points, semantic.PLACEHOLDER, (model,))]


def test_saying_the_question_back_counts_less():
    """Words of the question weigh QUESTION_WEIGHT: an answer that repeats the question meets
    the model answer less when the question is known; one that answers it, hardly less."""
    echo = "Binary search needs the array to be sorted because binary search needs a sorted array."
    answer = "It looks at the middle element and drops the half where the target cannot be, so order matters."
    met = {}
    for text in (echo, answer):
        for rubric in ("asked", "not asked"):
            known = BINARY_QUESTION + "\n" + BINARY_MODEL if rubric == "asked" else BINARY_MODEL
            met[text, rubric] = suggest(text, model_check(BINARY_MODEL), 5.0, rubric_text=known).criteria[0][1]
    assert met[echo, "asked"] < met[echo, "not asked"] - 0.1
    assert met[echo, "not asked"] - met[echo, "asked"] > met[answer, "not asked"] - met[answer, "asked"]
    assert met[answer, "asked"] > met[echo, "asked"]


def test_the_class_answers_place_each_answer_among_them():
    """With the class's answers (`cohort`), an answer is scored relative to the class's best:
    the same answer gets more in a class whose best answers say less, and what is off topic
    stays below what answers the question."""
    criteria = model_check(HASH_MODEL)
    answer = HASH_WEAK[0]
    strong = HASH_CLASS + [HASH_MODEL.replace("A hash table", f"Answer {i}: a hash table") for i in range(8)]
    weak = HASH_WEAK + HASH_OFF + [f"{a} Also {b.lower()}" for a, b in zip(HASH_WEAK, HASH_OFF)]
    among_strong = suggest(answer, criteria, 5.0, rubric_text=HASH_QUESTION, cohort=strong)
    among_weak = suggest(answer, criteria, 5.0, rubric_text=HASH_QUESTION, cohort=weak)
    assert among_weak.points > among_strong.points
    placed = suggest_many(HASH_CLASS, criteria, 5.0, rubric_text=HASH_QUESTION, cohort=HASH_CLASS)
    points = dict(zip(HASH_CLASS, (s.points for s in placed)))
    assert max(points[a] for a in HASH_OFF) < min(points[a] for a in HASH_GOOD)
    assert statistics.fmean(points[a] for a in HASH_GOOD) > statistics.fmean(points[a] for a in HASH_WEAK)


def test_a_small_class_changes_nothing_and_many_at_once_is_one_by_one():
    criteria = model_check(HASH_MODEL)
    alone = suggest_many(HASH_CLASS, criteria, 5.0, rubric_text=HASH_QUESTION)
    few = HASH_GOOD[:3] * 4  # 12 answers, 3 different: fewer than COHORT_MIN
    assert len(set(few)) < semantic.COHORT_MIN
    assert suggest_many(HASH_CLASS, criteria, 5.0, rubric_text=HASH_QUESTION, cohort=few) == alone
    reviewed = [Labelled(HASH_GOOD[0], 5.0), Labelled(HASH_OFF[0], 0.0)]
    together = suggest_many(HASH_CLASS, criteria, 5.0, rubric_text=HASH_QUESTION, cohort=HASH_CLASS,
                            reviewed=reviewed)
    one_by_one = [suggest(a, criteria, 5.0, rubric_text=HASH_QUESTION, cohort=HASH_CLASS, reviewed=reviewed)
                  for a in HASH_CLASS]
    assert together == one_by_one
    assert together != alone


def test_a_reviewed_answer_moves_its_neighbours_most():
    """A reviewer who fixes one answer moves the suggestions of answers like it most: its
    near-duplicate follows it, the others less (placed among the class, the check-wide
    re-calibration is drawn hard to no correction, as reviewers pick the answers that are off)."""
    criteria = model_check(HASH_MODEL)
    fixed = HASH_GOOD[1]
    near = fixed.replace("It maps", "A hash table maps")
    answers = HASH_CLASS + [near]
    before = suggest_many(answers, criteria, 5.0, rubric_text=HASH_QUESTION, cohort=HASH_CLASS)
    after = suggest_many(answers, criteria, 5.0, rubric_text=HASH_QUESTION, cohort=HASH_CLASS,
                         reviewed=[Labelled(fixed, 1.0)])
    assert before[1].points >= 4.0 and after[1].points == 1.0  # the reviewed answer itself
    assert after[-1].points <= 1.5  # its near-duplicate follows the review
    shift = {text: b.points - a.points for b, a, text in zip(before, after, answers)}
    assert all(0 <= shift[text] < shift[near] for text in HASH_CLASS if text != fixed)
