"""Trusted reference for Exercise 7 (LLMs, Part 1).

Conventions (see contract.md): row vectors, X has shape (n, d); the nonlinearity
f is ReLU; no biases; arguments are never modified in place; all arithmetic is
done in float64 (float32 inputs are upcast).

Besides the correct answers, this module defines the common mistakes as
``<function>__<mistake>`` with the same signature, so the grader can name them.
"""

import math

import numpy as np


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------

def _f64(a):
    """A float64 copy-or-view of ``a``; never written to."""
    return np.asarray(a, dtype=np.float64)


def _relu(x):
    return np.maximum(x, 0.0)


def _softmax(x, axis=-1):
    """Numerically stable softmax; entries equal to -inf get probability 0."""
    x = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)


# ----------------------------------------------------------------------------
# 1  Transfer learning
# ----------------------------------------------------------------------------

ANSWER_1A = (
    "A pre-trained model has gone through a first, generic training stage on a large "
    "corpus before it is adapted (fine-tuned) to specific downstream tasks; we say "
    "\"pre-trained\" rather than \"trained\" because this stage only learns general-purpose "
    "representations and further training on the task is expected. Pre-training needs "
    "large amounts of unlabelled raw text: the objective is self-supervised, i.e. the "
    "targets (such as the next token) come from the text itself, so no human labels are needed."
)
ANSWER_1B = (
    "Causal (autoregressive) language modelling, i.e. next-token prediction: every token is "
    "predicted from its prefix (left context), as in GPT. Masked language modelling (a cloze / "
    "denoising objective): some tokens are replaced by a mask token and predicted from the "
    "context on both sides, as in BERT."
)


def clm_objective(p, S):
    """Causal LM log-likelihood (natural log, to be maximised).

    ``p(prefix)``: prefix a tuple of ints (possibly empty) -> array (V,), the next-token
    distribution. ``S``: list of lists of ints. Returns a Python float.
    """
    total = 0.0
    for s in S:
        for t in range(len(s)):
            total += math.log(float(np.asarray(p(tuple(s[:t])))[s[t]]))
    return float(total)


def mlm_objective(p, S, M, mask_id):
    """Masked LM log-likelihood (natural log, to be maximised).

    ``p(seq)``: seq a tuple of ints -> array (len(seq), V) of per-position distributions.
    ``M[i]``: collection of 0-based masked positions of ``S[i]``. Returns a Python float.
    """
    total = 0.0
    for s, positions in zip(S, M):
        masked = list(s)
        for t in positions:
            masked[t] = mask_id
        probs = np.asarray(p(tuple(masked)))
        for t in positions:
            total += math.log(float(probs[t, s[t]]))
    return float(total)


ANSWER_1D = (
    "A large, diverse and high-quality text corpus (web crawl, books, Wikipedia, code, "
    "scientific articles, several languages). Factors: quality filtering, deduplication, the "
    "domain and language mix, the size of the corpus relative to the model, bias and toxicity, "
    "licensing/copyright and privacy (personal data), and benchmark contamination, i.e. test "
    "sets leaking into the training data."
)
ANSWER_1E = (
    "Fine-tuning means continuing to train the pre-trained parameters (starting from the "
    "pre-trained weights) on data for a specific downstream task. It differs from pre-training "
    "in the data (a much smaller, usually labelled, task-specific dataset instead of huge "
    "unlabelled raw text), in the objective (a task-specific, supervised loss instead of a "
    "generic self-supervised one) and in scale (far fewer steps and much less compute)."
)
ANSWER_1F = (
    "Memory and compute: the parameters, their gradients and the optimizer state (e.g. Adam's "
    "two moment estimates), plus the activations, do not fit into the memory of a single "
    "device. Training therefore needs parallelism across many GPUs (data, tensor/model and "
    "pipeline parallelism) and communication between them, and the cost in time, money and "
    "energy is very high."
)

# ----------------------------------------------------------------------------
# 2  Parameter-efficient fine-tuning
# ----------------------------------------------------------------------------

ANSWER_2A = (
    "PEFT methods freeze the pre-trained weights and train only a small set of new or selected "
    "parameters, so each task needs few trainable (and stored) parameters. Adapters (Houlsby "
    "et al.) insert small bottleneck modules (down projection, nonlinearity, up projection, "
    "residual connection) after a sublayer and train only those. LoRA adds a trainable low-rank "
    "update (alpha / r) A B to a frozen weight matrix. Other methods are prefix/prompt tuning "
    "and BitFit (training only the biases)."
)


def fnn(X, W_up, W_down):
    """FNN(X) = relu(X W_up) W_down; X (n, d), W_up (d, 4d), W_down (4d, d) -> (n, d)."""
    return _relu(_f64(X) @ _f64(W_up)) @ _f64(W_down)


def houlsby_fnn(X, W_up, W_down, A_down, A_up):
    """FNN'(X) = H + relu(H A_down) A_up, H = FNN(X); A_down (d, m), A_up (m, d) -> (n, d)."""
    H = fnn(X, W_up, W_down)
    return H + _relu(H @ _f64(A_down)) @ _f64(A_up)


def houlsby_params(d, m):
    """Parameters of one bias-free Houlsby adapter: A_down (d, m) + A_up (m, d)."""
    return int(2 * int(d) * int(m))


ANSWER_2C = (
    "FNN'(X) = H + f(H A_down) A_up with H = FNN(X) = f(X W_up) W_down, f = ReLU, new "
    "parameters A_down of size d x m and A_up of size m x d (2dm in total). The hyperparameter "
    "is the bottleneck size m, with m much smaller than d, which trades parameters for "
    "capacity; it is chosen by validation (a hyperparameter search on validation data). The "
    "adapter is initialised near-identity (A_up close to zero) so that training starts from "
    "the pre-trained model."
)

HOULSBY_FNN_ONLY = False
ANSWER_2D = (
    "No. An adapter only needs a sublayer's d-dimensional output: it projects it down to the "
    "bottleneck m, applies the nonlinearity, projects back up to d and adds the result through "
    "a residual connection, so it can follow any sublayer. Houlsby et al. in fact insert one "
    "adapter after the attention sublayer and one after the FNN in every transformer layer."
)


def lora_delta(A, B, alpha):
    """LoRA update Delta W_up = (alpha / r) A B; A (d, r), B (r, 4d), r = A.shape[1] -> (d, 4d)."""
    A = _f64(A)
    r = A.shape[1]
    return (float(alpha) / r) * (A @ _f64(B))


def lora_fnn(X, W_up, W_down, A, B, alpha):
    """FNN'(X) = relu(X (W_up + (alpha / r) A B)) W_down -> (n, d)."""
    return fnn(X, _f64(W_up) + lora_delta(A, B, alpha), W_down)


def lora_params(d, r):
    """Parameters of LoRA on W_up only: A (d, r) + B (r, 4d) = 5 d r."""
    return int(5 * int(d) * int(r))


ANSWER_2E = (
    "FNN'(X) = f(X (W_up + (alpha / r) A B)) W_down with W_up frozen and trainable A of size "
    "d x r and B of size r x 4d (5dr new parameters). The hyperparameters are the rank r "
    "(small, e.g. 1 to 64, r much smaller than d), the scaling factor alpha (the update is "
    "scaled by alpha / r; alpha is often fixed, e.g. alpha = r or 2r) and which weight matrices "
    "to adapt; they are set by validation. B (or A) is initialised to zero and the other "
    "randomly, so that the update is zero at the start."
)

LORA_FNN_ONLY = False
ANSWER_2F = (
    "No. LoRA adds a low-rank update to a weight matrix, so it can be applied to any weight "
    "matrix of the model, for example the attention projections W_Q, W_K, W_V and W_O (the "
    "original LoRA paper adapts W_Q and W_V), as well as W_up and W_down."
)

HOULSBY_MERGEABLE = False
ANSWER_2G = (
    "X W_up + (alpha / r) X A B = X (W_up + Delta W_up) with Delta W_up = (alpha / r) A B of "
    "size d x 4d, so FNN'(X) = f(X (W_up + Delta W_up)) W_down. The advantage: after training "
    "the update can be merged into the weight (W_up + Delta W_up), so inference has no extra "
    "latency or extra layers, and tasks can be swapped by subtracting one Delta W and adding "
    "another. Houlsby adapters cannot be merged like this, because of the nonlinearity between "
    "their two projections: the adapter is not a linear map and stays an extra module."
)

# ----------------------------------------------------------------------------
# 3  Transformer-based LLMs
# ----------------------------------------------------------------------------

N_POSITIONAL_ENCODING_LAYERS = 1
ANSWER_3A = (
    "Self-attention is order-agnostic: it is permutation-equivariant, so permuting the input "
    "tokens only permutes the outputs and the model would see the input as a bag of tokens. "
    "Positional encodings inject the order of the tokens. Independently of the number L of "
    "transformer layers, the model uses one positional encoding layer, added to the token "
    "embeddings once at the input."
)


def sinusoidal_positional_encoding(n, d):
    """PE (n, d): PE[pos, 2i] = sin(pos / 10000**(2i/d)), PE[pos, 2i+1] = cos(...); d even."""
    pos = np.arange(n, dtype=np.float64)[:, None]
    two_i = np.arange(0, d, 2, dtype=np.float64)[None, :]
    angle = pos / 10000.0 ** (two_i / d)
    pe = np.zeros((n, d), dtype=np.float64)
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle)
    return pe


def lm_head(H, E):
    """Row-wise softmax(H E^T); H (n, d), E (V, d) tied token embeddings -> (n, V)."""
    return _softmax(_f64(H) @ _f64(E).T, axis=-1)


ANSWER_3B = (
    "The language model head maps the last hidden states (the output of the final transformer "
    "layer) to a probability distribution over the vocabulary: a linear projection to V logits "
    "followed by a softmax. With weight tying, the output projection is the transpose of the "
    "input token embedding matrix E (V x d), i.e. the head computes softmax(H E^T) and no "
    "separate output matrix is learned."
)


def _mha(X, W_Q, W_K, W_V, W_O, causal=True, scale=True, softmax_axis=-1):
    X, W_Q, W_K, W_V, W_O = (_f64(a) for a in (X, W_Q, W_K, W_V, W_O))
    n = X.shape[0]
    d_k = W_Q.shape[2]
    future = np.triu(np.ones((n, n), dtype=bool), k=1)  # key j > query i
    heads = []
    for i in range(W_Q.shape[0]):
        Q, K, V = X @ W_Q[i], X @ W_K[i], X @ W_V[i]
        scores = Q @ K.T
        if scale:
            scores = scores / math.sqrt(d_k)
        if causal:
            scores = np.where(future, -np.inf, scores)
        heads.append(_softmax(scores, axis=softmax_axis) @ V)
    return np.concatenate(heads, axis=1) @ W_O


def multi_head_attention(X, W_Q, W_K, W_V, W_O):
    """Causal MHA. X (n, d); W_Q, W_K, W_V (h, d, d_k); W_O (h*d_k, d) -> (n, d).

    Head i: softmax((X W_Q[i])(X W_K[i])^T / sqrt(d_k) + mask) (X W_V[i]), mask = -inf
    above the diagonal; heads concatenated in order, then multiplied by W_O.
    """
    return _mha(X, W_Q, W_K, W_V, W_O)


ANSWER_3C = (
    "MHA(X) = [SA_1(X), ..., SA_n(X)] W_O: the outputs of the n self-attention heads are "
    "concatenated along the feature dimension and multiplied by the output projection W_O, "
    "where SA_i(X) = softmax((X W_Q^i)(X W_K^i)^T / sqrt(d_k) + mask) X W_V^i. The parameters "
    "are theta_MHA = theta_SA_1 ∪ ... ∪ theta_SA_n ∪ {W_O}, with theta_SA_i = {W_Q^i, W_K^i, W_V^i}."
)


def num_heads(d_model, d_head):
    """Number of heads when each head projects d_model to d_head: d_model // d_head."""
    return int(int(d_model) // int(d_head))


N_HEADS = num_heads(12288, 128)  # 96


def gpt3_params(d_model, n_layers, vocab_size):
    """Per layer 4 d^2 (W_Q, W_K, W_V, W_O) + 8 d^2 (FNN) = 12 d^2; plus the tied embedding."""
    d, L, V = int(d_model), int(n_layers), int(vocab_size)
    return int(12 * L * d * d + V * d)


GPT3_PARAMS = gpt3_params(12288, 96, 50000)  # 174_560_575_488
LARGEST_COMPONENT = "fnn"  # 96 * 8 * 12288**2 = 115_964_116_992, about 66 %

# ----------------------------------------------------------------------------
# Common mistakes (same signatures; each is wrong on a generic input)
# ----------------------------------------------------------------------------


def fnn__no_relu(X, W_up, W_down):
    return _f64(X) @ _f64(W_up) @ _f64(W_down)


def fnn__relu_after_down(X, W_up, W_down):
    return _relu(_f64(X) @ _f64(W_up) @ _f64(W_down))


def houlsby_fnn__no_residual(X, W_up, W_down, A_down, A_up):
    H = fnn(X, W_up, W_down)
    return _relu(H @ _f64(A_down)) @ _f64(A_up)


def houlsby_fnn__adapter_before_fnn(X, W_up, W_down, A_down, A_up):
    X = _f64(X)
    return fnn(X + _relu(X @ _f64(A_down)) @ _f64(A_up), W_up, W_down)


def lora_delta__no_scaling(A, B, alpha):
    return _f64(A) @ _f64(B)


def lora_delta__alpha_not_over_r(A, B, alpha):
    return float(alpha) * (_f64(A) @ _f64(B))


def lora_fnn__no_scaling(X, W_up, W_down, A, B, alpha):
    return fnn(X, _f64(W_up) + lora_delta__no_scaling(A, B, alpha), W_down)


def lora_fnn__alpha_not_over_r(X, W_up, W_down, A, B, alpha):
    return fnn(X, _f64(W_up) + lora_delta__alpha_not_over_r(A, B, alpha), W_down)


def multi_head_attention__no_causal_mask(X, W_Q, W_K, W_V, W_O):
    return _mha(X, W_Q, W_K, W_V, W_O, causal=False)


def multi_head_attention__no_sqrt_scaling(X, W_Q, W_K, W_V, W_O):
    return _mha(X, W_Q, W_K, W_V, W_O, scale=False)


def multi_head_attention__softmax_wrong_axis(X, W_Q, W_K, W_V, W_O):
    # softmax over the queries (axis 0); every column keeps its diagonal entry, so no NaN
    return _mha(X, W_Q, W_K, W_V, W_O, softmax_axis=0)


def sinusoidal_positional_encoding__sin_cos_swapped(n, d):
    pe = sinusoidal_positional_encoding(n, d)
    return np.concatenate([pe[:, 1::2, None], pe[:, 0::2, None]], axis=2).reshape(n, d)


def sinusoidal_positional_encoding__exponent_i_over_d(n, d):
    pos = np.arange(n, dtype=np.float64)[:, None]
    i = np.arange(d // 2, dtype=np.float64)[None, :]
    angle = pos / 10000.0 ** (i / d)
    pe = np.zeros((n, d), dtype=np.float64)
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle)
    return pe


def sinusoidal_positional_encoding__exponent_column_index(n, d):
    pos = np.arange(n, dtype=np.float64)[:, None]
    j = np.arange(d, dtype=np.float64)[None, :]
    angle = pos / 10000.0 ** (j / d)
    return np.where(j % 2 == 0, np.sin(angle), np.cos(angle))


def lm_head__logits(H, E):
    return _f64(H) @ _f64(E).T


def clm_objective__negated(p, S):
    return -clm_objective(p, S)


def clm_objective__first_token_skipped(p, S):
    total = 0.0
    for s in S:
        for t in range(1, len(s)):
            total += math.log(float(np.asarray(p(tuple(s[:t])))[s[t]]))
    return float(total)


def mlm_objective__negated(p, S, M, mask_id):
    return -mlm_objective(p, S, M, mask_id)


def gpt3_params__untied_head(d_model, n_layers, vocab_size):
    return gpt3_params(d_model, n_layers, vocab_size) + int(vocab_size) * int(d_model)


def gpt3_params__learned_positions(d_model, n_layers, vocab_size):
    return gpt3_params(d_model, n_layers, vocab_size) + 2048 * int(d_model)


def gpt3_params__one_layer(d_model, n_layers, vocab_size):
    return gpt3_params(d_model, 1, vocab_size)


def num_heads__product(d_model, d_head):
    return int(int(d_model) * int(d_head))


def houlsby_params__with_biases(d, m):
    return int(2 * int(d) * int(m) + int(d) + int(m))


def lora_params__square_matrix(d, r):
    return int(2 * int(d) * int(r))
