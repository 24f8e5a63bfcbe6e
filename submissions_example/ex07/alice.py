"""Exercise 7 -- Large Language Models, Part 1.

Alice's submission. Row-vector convention throughout: X has shape (n, d).
"""
import numpy as np


# ---------------------------------------------------------------------------
# 1  Transfer learning
# ---------------------------------------------------------------------------

ANSWER_1A = (
    "A pre-trained model has gone through a first, generic training stage on a very "
    "large corpus before it is adapted (fine-tuned) to the tasks we actually care about; "
    "we say 'pre-trained' because this stage only prepares the model and is not the final "
    "training. For a language model the pre-training data is large amounts of unlabelled "
    "raw text, because the objective is self-supervised: the targets come from the text itself."
)

ANSWER_1B = (
    "The two common objectives are causal (autoregressive) language modelling, i.e. "
    "next-token prediction given the prefix, and masked language modelling, where some "
    "tokens are replaced by a mask token and the model has to reconstruct them (a cloze / "
    "denoising task). Both are self-supervised: the targets are taken from the raw text "
    "itself, so no annotation is needed."
)


def clm_objective(p, S):
    """Causal LM log-likelihood: sum_s sum_t log p(s_t | s_<t) (natural log, maximised)."""
    total = 0.0
    for s in S:
        for t in range(len(s)):
            dist = np.asarray(p(tuple(s[:t])), dtype=np.float64)
            total += np.log(dist[s[t]])
    return float(total)


def mlm_objective(p, S, M, mask_id):
    """Masked LM log-likelihood of the masked positions given the corrupted sequence."""
    total = 0.0
    for s, masked_positions in zip(S, M):
        positions = sorted(set(int(t) for t in masked_positions))
        if not positions:
            continue
        corrupted = np.array(s, dtype=int)
        corrupted[positions] = mask_id
        probs = np.asarray(p(tuple(int(tok) for tok in corrupted)), dtype=np.float64)
        targets = np.asarray(s)[positions]
        total += np.log(probs[positions, targets]).sum()
    return float(total)


ANSWER_1D = (
    "We want a very large, diverse and high-quality text corpus (web crawls, books, code, "
    "Wikipedia, scientific articles, ...). Important factors are quality filtering and "
    "deduplication, the mix of domains and languages, the overall size, bias and toxicity "
    "in the data, licensing, copyright and privacy of personal data, and avoiding "
    "contamination with benchmark test sets."
)

ANSWER_1E = (
    "Fine-tuning means we take the pre-trained parameters as initialisation and continue "
    "training them on data for the downstream task. Compared to pre-training the data is "
    "much smaller and usually labelled (supervised), the objective is task-specific, and "
    "the scale of compute and number of steps is far smaller."
)

ANSWER_1F = (
    "The main challenge is memory and compute: the parameters, their gradients and the "
    "optimizer state (e.g. two Adam moments per weight) do not fit on a single GPU. "
    "Training therefore needs parallelism across many devices (data, tensor and pipeline "
    "parallelism), which makes it very expensive and technically difficult."
)


# ---------------------------------------------------------------------------
# 2  Parameter-efficient fine-tuning
# ---------------------------------------------------------------------------

ANSWER_2A = (
    "PEFT freezes the pre-trained weights and trains only a small set of new or selected "
    "parameters, so fine-tuning needs far less memory and each task only stores a small "
    "delta. Adapters insert small bottleneck MLPs (down-projection, nonlinearity, "
    "up-projection, residual) after sublayers and train only those. LoRA instead learns a "
    "low-rank update A B for selected weight matrices, scaled by alpha / r, while the "
    "original matrix stays frozen."
)


def _relu(Z):
    return np.maximum(Z, 0.0)


def fnn(X, W_up, W_down):
    """FNN(X) = relu(X W_up) W_down."""
    return _relu(X @ W_up) @ W_down


def houlsby_fnn(X, W_up, W_down, A_down, A_up):
    """FNN followed by a Houlsby adapter with a residual connection."""
    H = fnn(X, W_up, W_down)
    return H + _relu(H @ A_down) @ A_up


def houlsby_params(d, m):
    return int(2 * d * m)


ANSWER_2C = (
    "FNN'(X) = H + relu(H A_down) A_up with H = FNN(X), A_down in R^{d x m} and A_up in "
    "R^{m x d}. The hyperparameter is the bottleneck size m, chosen much smaller than d "
    "(e.g. 8-256) and tuned on a validation set. The adapter is initialised near zero so "
    "that it starts as a near-identity mapping."
)

HOULSBY_FNN_ONLY = False

ANSWER_2D = (
    "No. An adapter only needs a d-dimensional input and output, so it can be placed after "
    "any sublayer; Houlsby et al. in fact insert one after the multi-head attention and one "
    "after the FNN in every transformer layer."
)


def lora_delta(A, B, alpha):
    r = A.shape[1]
    return (alpha / r) * (A @ B)


def lora_fnn(X, W_up, W_down, A, B, alpha):
    """FNN with a LoRA update on W_up only."""
    return fnn(X, W_up + lora_delta(A, B, alpha), W_down)


def lora_params(d, r):
    # A: d x r, B: r x 4d
    return int(d * r + r * 4 * d)


ANSWER_2E = (
    "FNN'(X) = relu(X (W_up + (alpha/r) A B)) W_down with A in R^{d x r} and B in "
    "R^{r x 4d}; only A and B are trained. The hyperparameters are the rank r (small, "
    "typically 1 to 64), the scaling factor alpha, and which weight matrices get an "
    "adapter. B is initialised to zero so the update starts at zero, A randomly."
)

LORA_FNN_ONLY = False

ANSWER_2F = (
    "No. LoRA can be applied to any weight matrix in the network; in the original paper it "
    "is mostly used on the attention projections W_Q, W_K, W_V and W_O."
)

HOULSBY_MERGEABLE = False

ANSWER_2G = (
    "With Delta W_up = (alpha/r) A B the LoRA output is relu(X (W_up + Delta W_up)) W_down, "
    "i.e. Eq. (1). The update can be merged into the weight after training, so inference "
    "has no extra latency, and we can switch tasks by subtracting one Delta W and adding "
    "another. Houlsby adapters cannot be written this way because of the nonlinearity "
    "between their down- and up-projection (and they sit after W_down as an extra sublayer)."
)


# ---------------------------------------------------------------------------
# 3  Transformer-based LLMs
# ---------------------------------------------------------------------------

N_POSITIONAL_ENCODING_LAYERS = 1


def sinusoidal_positional_encoding(n, d):
    pos = np.arange(n, dtype=np.float64)[:, None]
    two_i = np.arange(0, d, 2, dtype=np.float64)[None, :]
    angles = pos / np.power(10000.0, two_i / d)
    PE = np.zeros((n, d), dtype=np.float64)
    PE[:, 0::2] = np.sin(angles)
    PE[:, 1::2] = np.cos(angles)
    return PE


ANSWER_3A = (
    "Self-attention is permutation-equivariant: it treats its input as a set, so without "
    "extra information the model cannot see the order of the tokens. Positional encodings "
    "inject the position of each token. Regardless of L, only one positional encoding "
    "layer is used, added to the token embeddings at the input."
)


def _softmax(Z, axis=-1):
    Z = Z - Z.max(axis=axis, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=axis, keepdims=True)


def lm_head(H, E):
    """Row-wise softmax(H E^T): tied output projection."""
    return _softmax(H @ E.T, axis=-1)


ANSWER_3B = (
    "The LM head maps the final hidden state of each position to a probability "
    "distribution over the vocabulary (linear projection to V logits plus softmax), which "
    "gives the next-token distribution. With weight tying the output projection is the "
    "transpose of the input token embedding matrix E, so no separate d x V matrix is learned."
)


def multi_head_attention(X, W_Q, W_K, W_V, W_O):
    """Causal multi-head attention; W_Q/K/V have shape (h, d, d_k), W_O (h*d_k, d)."""
    n = X.shape[0]
    h, _, d_k = W_Q.shape
    Q = np.einsum("nd,hdk->hnk", X, W_Q)
    K = np.einsum("nd,hdk->hnk", X, W_K)
    V = np.einsum("nd,hdk->hnk", X, W_V)
    scores = Q @ K.transpose(0, 2, 1) / np.sqrt(d_k)
    future = np.triu(np.ones((n, n), dtype=bool), k=1)
    scores = np.where(future[None, :, :], -np.inf, scores)
    heads = _softmax(scores, axis=-1) @ V          # (h, n, d_k)
    concat = heads.transpose(1, 0, 2).reshape(n, h * d_k)
    return concat @ W_O


ANSWER_3C = (
    "MHA(X) = [SA_1(X), ..., SA_n(X)] W_O: every head runs its own (causal) scaled "
    "dot-product self-attention, the outputs are concatenated along the feature dimension "
    "and projected back with W_O. The parameters are the union of the heads' parameters "
    "plus the output projection: theta_MHA = theta_SA_1 U ... U theta_SA_n U {W_O}, where "
    "theta_SA_i = {W_Q^i, W_K^i, W_V^i}."
)


def num_heads(d_model, d_head):
    return int(d_model // d_head)


N_HEADS = num_heads(12288, 128)   # 12288 / 128 = 96


def gpt3_params(d_model, n_layers, vocab_size):
    attention = 4 * d_model * d_model          # W_Q, W_K, W_V, W_O
    ffn = 2 * d_model * (4 * d_model)          # W_up, W_down
    embeddings = vocab_size * d_model          # tied with the LM head
    return int(n_layers * (attention + ffn) + embeddings)


GPT3_PARAMS = gpt3_params(12288, 96, 50000)    # 174,560,575,488
LARGEST_COMPONENT = "fnn"  # 8 d^2 per layer -> about 66 % of all parameters
