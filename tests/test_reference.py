"""Tests of the trusted Exercise 7 reference against independent computations.

The expected values here are computed differently from the reference (explicit
Python loops, per-element formulas with ``math``, a different order of
operations, hand-worked numbers), never by calling the reference on itself.
"""

import importlib.util
import inspect
import math
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).parents[1] / "reference" / "ex07.py"
_spec = importlib.util.spec_from_file_location("ex07_reference", _PATH)
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)


def rng(seed=0):
    return np.random.default_rng(seed)


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


# ----------------------------------------------------------------------------
# independent implementations (loops, math module)
# ----------------------------------------------------------------------------

def loop_matmul(A, B):
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    out = np.zeros((A.shape[0], B.shape[1]))
    for i in range(A.shape[0]):
        for j in range(B.shape[1]):
            out[i, j] = sum(float(A[i, k]) * float(B[k, j]) for k in range(A.shape[1]))
    return out


def loop_relu(A):
    return np.array([[max(0.0, float(v)) for v in row] for row in np.asarray(A)])


def loop_fnn(X, W_up, W_down):
    return loop_matmul(loop_relu(loop_matmul(X, W_up)), W_down)


def loop_softmax_row(values):
    m = max(values)
    e = [math.exp(v - m) for v in values]
    s = sum(e)
    return [v / s for v in e]


def loop_mha(X, W_Q, W_K, W_V, W_O):
    """Per head, per query; heads enter through their block of W_O (sum, not concat)."""
    n, d = X.shape
    h, _, d_k = W_Q.shape
    out = np.zeros((n, W_O.shape[1]))
    for head in range(h):
        Q, K, V = X @ W_Q[head], X @ W_K[head], X @ W_V[head]
        W_O_block = W_O[head * d_k:(head + 1) * d_k]
        for i in range(n):
            scores = [float(np.dot(Q[i], K[j])) / math.sqrt(d_k) for j in range(i + 1)]
            weights = loop_softmax_row(scores)  # only keys j <= i: the causal mask
            z = sum(w * V[j] for j, w in enumerate(weights))
            out[i] += z @ W_O_block
    return out


def loop_pe(n, d):
    pe = np.zeros((n, d))
    for pos in range(n):
        for i in range(d // 2):
            pe[pos, 2 * i] = math.sin(pos / 10000 ** (2 * i / d))
            pe[pos, 2 * i + 1] = math.cos(pos / 10000 ** (2 * i / d))
    return pe


# ----------------------------------------------------------------------------
# random generic inputs
# ----------------------------------------------------------------------------

N, D, H, DK, M_, R, ALPHA = 4, 6, 2, 3, 2, 2, 3.0  # alpha != r, r > 1, n >= 3


def fnn_args(g, n=N, d=D):
    return [g.standard_normal((n, d)), g.standard_normal((d, 4 * d)), g.standard_normal((4 * d, d))]


def houlsby_args(g, n=N, d=D, m=M_):
    return fnn_args(g, n, d) + [g.standard_normal((d, m)), g.standard_normal((m, d))]


def lora_args(g, n=N, d=D, r=R, alpha=ALPHA):
    return fnn_args(g, n, d) + [g.standard_normal((d, r)), g.standard_normal((r, 4 * d)), alpha]


def mha_args(g, n=N, d=D, h=H, d_k=DK):
    return [g.standard_normal((n, d)), g.standard_normal((h, d, d_k)), g.standard_normal((h, d, d_k)),
            g.standard_normal((h, d, d_k)), g.standard_normal((h * d_k, d))]


def lm_args(g, n=N, d=D, V=7):
    return [g.standard_normal((n, d)), g.standard_normal((V, d))]


def make_clm_p(V=5, seed=3):
    table = np.random.default_rng(seed).dirichlet(np.ones(V), size=(V + 1, 4))

    def p(prefix):
        assert isinstance(prefix, tuple)
        last = prefix[-1] if prefix else V
        return table[last, len(prefix) % 4]
    return p


def make_mlm_p(V=5, seed=4):
    table = np.random.default_rng(seed).dirichlet(np.ones(V), size=(V, 3))

    def p(seq):
        assert isinstance(seq, tuple)
        return np.stack([table[tok, t % 3] for t, tok in enumerate(seq)])
    return p


CLM_S = [[0, 1, 2, 3], [4, 2], [1]]
MLM_S, MLM_M, MASK = [[0, 1, 2, 3, 1], [2, 2, 0]], [[1, 3], {0, 2}], 4

ARRAY_ARGS = {
    "fnn": fnn_args,
    "houlsby_fnn": houlsby_args,
    "lora_fnn": lora_args,
    "lora_delta": lambda g: lora_args(g)[3:],
    "multi_head_attention": mha_args,
    "lm_head": lm_args,
    "sinusoidal_positional_encoding": lambda g: [N, 8],
}
INT_ARGS = {
    "houlsby_params": (768, 64),
    "lora_params": (768, 8),
    "num_heads": (12288, 128),
    "gpt3_params": (12288, 96, 50000),
}

VARIANTS = [
    "fnn__no_relu", "fnn__relu_after_down",
    "houlsby_fnn__no_residual", "houlsby_fnn__adapter_before_fnn",
    "lora_fnn__no_scaling", "lora_fnn__alpha_not_over_r",
    "lora_delta__no_scaling", "lora_delta__alpha_not_over_r",
    "multi_head_attention__no_causal_mask", "multi_head_attention__no_sqrt_scaling",
    "multi_head_attention__softmax_wrong_axis",
    "sinusoidal_positional_encoding__sin_cos_swapped",
    "sinusoidal_positional_encoding__exponent_i_over_d",
    "sinusoidal_positional_encoding__exponent_column_index",
    "lm_head__logits",
    "clm_objective__negated", "clm_objective__first_token_skipped", "mlm_objective__negated",
    "gpt3_params__untied_head", "gpt3_params__learned_positions", "gpt3_params__one_layer",
    "num_heads__product", "houlsby_params__with_biases", "lora_params__square_matrix",
]


def call(name, g=None):
    base = name.split("__")[0]
    if base in ARRAY_ARGS:
        return getattr(ref, name)(*ARRAY_ARGS[base](g or rng(11)))
    if base in INT_ARGS:
        return getattr(ref, name)(*INT_ARGS[base])
    if base == "clm_objective":
        return getattr(ref, name)(make_clm_p(), CLM_S)
    return getattr(ref, name)(make_mlm_p(), MLM_S, MLM_M, MASK)


# ----------------------------------------------------------------------------
# 3d / 3e: counts
# ----------------------------------------------------------------------------

def test_num_heads():
    assert 12288 / 128 == 96
    assert ref.N_HEADS == 96 and type(ref.N_HEADS) is int
    assert ref.num_heads(12288, 128) == 96
    assert ref.num_heads(768, 64) == 12
    assert ref.num_heads__product(12288, 128) == 1_572_864


def test_gpt3_params():
    d, L, V = 12288, 96, 50000
    assert type(ref.GPT3_PARAMS) is int
    assert ref.GPT3_PARAMS == 174_560_575_488 == 96 * 12 * 12288 ** 2 + 50000 * 12288
    # count component by component, layer by layer
    head_dim, heads = 128, 96
    attention = 3 * heads * d * head_dim + heads * head_dim * d  # W_Q, W_K, W_V per head + W_O
    ffn = d * 4 * d + 4 * d * d
    total, fnn_total = V * d, 0
    for _ in range(L):
        total += attention + ffn
        fnn_total += ffn
    assert ref.gpt3_params(d, L, V) == total
    share = fnn_total / total
    assert abs(share - 0.664) < 0.002 and fnn_total > total / 2
    assert ffn == 8 * d * d and abs(ffn / (attention + ffn) - 2 / 3) < 1e-12
    assert ref.LARGEST_COMPONENT == "fnn"
    assert ref.gpt3_params__untied_head(d, L, V) == 175_174_975_488
    assert ref.gpt3_params__learned_positions(d, L, V) == total + 2048 * d
    assert ref.gpt3_params__one_layer(d, L, V) == attention + ffn + V * d
    assert ref.gpt3_params(4, 2, 10) == 2 * 12 * 16 + 40


def test_small_param_counts():
    for d, m in [(768, 64), (5, 3), (1, 1)]:
        assert ref.houlsby_params(d, m) == np.zeros((d, m)).size + np.zeros((m, d)).size
        assert ref.houlsby_params__with_biases(d, m) == 2 * d * m + d + m
    for d, r in [(768, 8), (5, 2), (1, 1)]:
        assert ref.lora_params(d, r) == np.zeros((d, r)).size + np.zeros((r, 4 * d)).size
        assert ref.lora_params__square_matrix(d, r) == 2 * d * r


def test_values():
    assert ref.HOULSBY_FNN_ONLY is False
    assert ref.LORA_FNN_ONLY is False
    assert ref.HOULSBY_MERGEABLE is False
    assert ref.N_POSITIONAL_ENCODING_LAYERS == 1 and type(ref.N_POSITIONAL_ENCODING_LAYERS) is int


# ----------------------------------------------------------------------------
# 3c: attention
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("n,d,h,d_k", [(1, 4, 1, 4), (1, 6, 2, 3), (3, 4, 1, 2), (5, 8, 2, 4),
                                       (4, 6, 3, 2), (4, 5, 2, 3), (7, 12, 4, 3)])
def test_attention_against_loop(n, d, h, d_k):
    args = mha_args(rng(n * 100 + h), n, d, h, d_k)
    out = ref.multi_head_attention(*args)
    assert out.shape == (n, d)
    assert np.allclose(out, loop_mha(*args), rtol=1e-10, atol=1e-10)
    for variant in ("no_causal_mask", "no_sqrt_scaling", "softmax_wrong_axis"):
        assert np.all(np.isfinite(getattr(ref, "multi_head_attention__" + variant)(*args)))


def test_attention_is_causal_and_stable():
    X, *W = mha_args(rng(5), n=6)
    out = ref.multi_head_attention(X, *W)
    X2 = X.copy()
    X2[3:] = rng(6).standard_normal(X2[3:].shape)
    assert np.allclose(ref.multi_head_attention(X2, *W)[:3], out[:3])
    big = ref.multi_head_attention(1000 * X, *W)
    assert np.all(np.isfinite(big))


# ----------------------------------------------------------------------------
# 2b, 2c, 2e, 2g: FNN, Houlsby, LoRA
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 4])
def test_fnn_and_houlsby(n):
    X, W_up, W_down, A_down, A_up = houlsby_args(rng(n), n=n)
    Hx = loop_fnn(X, W_up, W_down)
    assert np.allclose(ref.fnn(X, W_up, W_down), Hx)
    expected = Hx + loop_matmul(loop_relu(loop_matmul(Hx, A_down)), A_up)
    got = ref.houlsby_fnn(X, W_up, W_down, A_down, A_up)
    assert got.shape == (n, D) and np.allclose(got, expected)


@pytest.mark.parametrize("n,d,r,alpha", [(1, 4, 2, 3.0), (4, 6, 3, 16.0), (3, 5, 4, 0.5)])
def test_lora_eq1(n, d, r, alpha):
    X, W_up, W_down, A, B, _ = lora_args(rng(r), n, d, r, alpha)
    delta = ref.lora_delta(A, B, alpha)
    assert delta.shape == (d, 4 * d)
    per_elem = np.array([[alpha / r * sum(A[a, k] * B[k, b] for k in range(r))
                          for b in range(4 * d)] for a in range(d)])
    assert np.allclose(delta, per_elem)
    got = ref.lora_fnn(X, W_up, W_down, A, B, alpha)
    # the sheet's Eq. (1) with f kept
    assert np.allclose(got, np.maximum(X @ (W_up + delta), 0) @ W_down)
    # different order: frozen path plus scaled low-rank path
    assert np.allclose(got, loop_matmul(loop_relu(X @ W_up + (alpha / r) * ((X @ A) @ B)), W_down))
    # zero-initialised B gives back the plain FNN
    assert np.allclose(ref.lora_fnn(X, W_up, W_down, A, np.zeros_like(B), alpha), loop_fnn(X, W_up, W_down))


# ----------------------------------------------------------------------------
# 3a, 3b: positional encoding, LM head
# ----------------------------------------------------------------------------

@pytest.mark.parametrize("n,d", [(1, 2), (1, 8), (5, 4), (50, 16)])
def test_positional_encoding(n, d):
    pe = ref.sinusoidal_positional_encoding(n, d)
    assert pe.shape == (n, d)
    assert np.allclose(pe, loop_pe(n, d), rtol=0, atol=1e-12)
    assert np.allclose(pe[0], [0.0, 1.0] * (d // 2))


@pytest.mark.parametrize("n", [1, 4])
def test_lm_head(n):
    Hs, E = lm_args(rng(n), n=n)
    out = ref.lm_head(Hs, E)
    assert out.shape == (n, E.shape[0])
    assert np.allclose(out.sum(axis=1), 1.0)
    for i in range(n):
        logits = [sum(float(Hs[i, k]) * float(E[v, k]) for k in range(E.shape[1])) for v in range(E.shape[0])]
        assert np.allclose(out[i], loop_softmax_row(logits))
    big = ref.lm_head(1e4 * Hs, E)
    assert np.all(np.isfinite(big)) and np.allclose(big.sum(axis=1), 1.0)


# ----------------------------------------------------------------------------
# 1c: objectives, hand-computed
# ----------------------------------------------------------------------------

def tiny_clm_p(prefix):
    assert isinstance(prefix, tuple)
    if prefix == ():
        return np.array([0.5, 0.25, 0.25])
    return {0: np.array([0.1, 0.6, 0.3]), 1: np.array([0.2, 0.2, 0.6]),
            2: np.array([0.7, 0.2, 0.1])}[prefix[-1]]


def test_clm_objective_hand_example():
    S = [[0, 1, 2], [2]]
    # p(0|()) p(1|(0,)) p(2|(0,1)) * p(2|())
    assert ref.clm_objective(tiny_clm_p, S) == pytest.approx(math.log(0.5 * 0.6 * 0.6 * 0.25))
    assert ref.clm_objective(tiny_clm_p, [[1]]) == pytest.approx(math.log(0.25))
    assert ref.clm_objective__first_token_skipped(tiny_clm_p, S) == pytest.approx(math.log(0.6 * 0.6))
    assert ref.clm_objective__negated(tiny_clm_p, S) == pytest.approx(-math.log(0.5 * 0.6 * 0.6 * 0.25))
    assert ref.clm_objective(tiny_clm_p, []) == 0.0


BASE = [[0.1, 0.2, 0.3, 0.4], [0.5, 0.25, 0.125, 0.125], [0.7, 0.1, 0.1, 0.1]]


def tiny_mlm_p(seq):
    """Masked positions get BASE[t % 3]; unmasked ones a uniform row (so masking matters)."""
    assert isinstance(seq, tuple)
    return np.array([BASE[t % 3] if tok == 3 else [0.25] * 4 for t, tok in enumerate(seq)])


def test_mlm_objective_hand_example():
    S, M = [[0, 1, 2, 0], [2, 2]], [[1, 3], (0,)]
    # seq 1 -> (0, 3, 2, 3): BASE[1][1] * BASE[0][0]; seq 2 -> (3, 2): BASE[0][2]
    expected = math.log(0.25 * 0.1 * 0.3)
    assert ref.mlm_objective(tiny_mlm_p, S, M, 3) == pytest.approx(expected)
    assert ref.mlm_objective(tiny_mlm_p, S, [{1, 3}, {0}], 3) == pytest.approx(expected)
    assert ref.mlm_objective__negated(tiny_mlm_p, S, M, 3) == pytest.approx(-expected)
    assert ref.mlm_objective(tiny_mlm_p, S, [[], []], 3) == 0.0


# ----------------------------------------------------------------------------
# mistakes, purity, types, precision
# ----------------------------------------------------------------------------

def test_variant_list_is_complete():
    defined = {n for n, f in vars(ref).items() if "__" in n and not n.startswith("_") and inspect.isfunction(f)}
    assert defined == set(VARIANTS)
    for name in VARIANTS:
        base = name.split("__")[0]
        assert inspect.signature(getattr(ref, name)) == inspect.signature(getattr(ref, base))


@pytest.mark.parametrize("name", VARIANTS)
def test_variant_differs(name):
    base = name.split("__")[0]
    right, wrong = call(base, rng(7)), call(name, rng(7))
    if isinstance(right, np.ndarray):
        assert right.shape == np.shape(wrong)
        assert np.all(np.isfinite(wrong))
        assert not np.allclose(right, wrong, rtol=1e-3, atol=1e-6)
    else:
        assert type(wrong) is type(right)
        if isinstance(right, int):
            # exact: learned positions add only 0.014 % to GPT-3's count
            assert wrong != right
        else:
            assert abs(wrong - right) > 1e-3 * abs(right)


@pytest.mark.parametrize("name", sorted(ARRAY_ARGS) + [v for v in VARIANTS if v.split("__")[0] in ARRAY_ARGS])
def test_arguments_not_modified(name):
    args = ARRAY_ARGS[name.split("__")[0]](rng(9))
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    for a in args:
        if isinstance(a, np.ndarray):
            a.flags.writeable = False
    getattr(ref, name)(*args)
    for a, c in zip(args, copies):
        if isinstance(a, np.ndarray):
            assert np.array_equal(a, c)


def test_return_types():
    for name, args in INT_ARGS.items():
        assert type(getattr(ref, name)(*args)) is int
        assert type(getattr(ref, name)(*(np.int64(a) for a in args))) is int
    for name in VARIANTS:
        if name.split("__")[0] in INT_ARGS:
            assert type(call(name)) is int
    for name in ("clm_objective", "mlm_objective", "clm_objective__negated",
                 "clm_objective__first_token_skipped", "mlm_objective__negated"):
        assert type(call(name)) is float
    for name in ARRAY_ARGS:
        out = call(name)
        assert isinstance(out, np.ndarray) and out.dtype == np.float64


@pytest.mark.parametrize("name", ["fnn", "houlsby_fnn", "lora_fnn", "lora_delta", "multi_head_attention", "lm_head"])
def test_float32_inputs(name):
    args = ARRAY_ARGS[name](rng(13))
    args32 = [a.astype(np.float32) if isinstance(a, np.ndarray) else a for a in args]
    assert rel_err(getattr(ref, name)(*args32), getattr(ref, name)(*args)) < 1e-4


def test_float32_distributions():
    p = make_clm_p()
    p32 = lambda prefix: p(prefix).astype(np.float32)  # noqa: E731
    assert ref.clm_objective(p32, CLM_S) == pytest.approx(ref.clm_objective(p, CLM_S), rel=1e-4)
    q = make_mlm_p()
    q32 = lambda seq: q(seq).astype(np.float32)  # noqa: E731
    assert ref.mlm_objective(q32, MLM_S, MLM_M, MASK) == pytest.approx(
        ref.mlm_objective(q, MLM_S, MLM_M, MASK), rel=1e-4)


ANSWER_WORDS = {
    "1A": ["unlabelled", "self-supervised", "pre-train"],
    "1B": ["next-token prediction", "masked language modelling", "causal"],
    "1D": ["deduplication", "quality", "diverse"],
    "1E": ["labelled", "pre-trained"],
    "1F": ["memory", "gradients", "optimizer state", "parallelism"],
    "2A": ["freeze", "adapter", "LoRA"],
    "2C": ["bottleneck", "validation"],
    "2D": ["attention"],
    "2E": ["rank", "alpha", "zero"],
    "2F": ["W_Q", "W_V"],
    "2G": ["merge", "latency", "nonlinearity"],
    "3A": ["permutation", "order", "one"],
    "3B": ["vocabulary", "transpose", "embedding"],
    "3C": ["concatenate", "W_O", "∪"],
}


@pytest.mark.parametrize("qid", sorted(ANSWER_WORDS))
def test_model_answers(qid):
    text = getattr(ref, "ANSWER_" + qid)
    assert isinstance(text, str) and 80 < len(text) < 900
    for word in ANSWER_WORDS[qid]:
        assert word.lower() in text.lower(), (qid, word)
