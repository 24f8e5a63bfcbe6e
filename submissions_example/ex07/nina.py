"""
Exercise 7 - Large Language Models (Part 1)
Nina
"""
import numpy as np


# === 1. Transfer learning ===================================================

ANSWER_1A = (
    "Pre-training is the first stage of a two-stage process: a model is trained on a huge, generic "
    "corpus to learn broad knowledge of language, and afterwards it is adapted to concrete tasks. "
    "Saying 'trained' would hide that the model is meant as a starting point. The data we need is "
    "large amounts of unlabelled raw text, because the task is self-supervised (the text is its own "
    "label)."
)

ANSWER_1B = (
    "Causal language modelling, where the model is trained on next-token prediction "
    "(autoregressively, left to right), and masked language modelling, where some tokens are masked "
    "and predicted from the surrounding context. Both are self-supervised."
)


def clm_objective(p, S):
    """log L = sum over sequences and positions of log p(s_t | s_1..s_{t-1})."""
    values = []
    for s in S:
        history = []
        for tok in s:
            values.append(np.log(p(tuple(history))[tok]))
            history.append(tok)
    return float(np.sum(values)) if values else 0.0


def mlm_objective(p, S, M, mask_id):
    values = []
    for s, masked in zip(S, M):
        masked = list(masked)
        x_tilde = np.array(s, copy=True)
        x_tilde[masked] = mask_id
        dist = np.asarray(p(tuple(x_tilde.tolist())))
        values.extend(np.log(dist[t, s[t]]) for t in masked)
    return float(np.sum(values)) if values else 0.0


ANSWER_1D = (
    "Very large, diverse and high-quality text (web data, books, encyclopedias, code). We should "
    "consider quality filtering, deduplication, the domain and language mix, how much data we need "
    "for the model size, bias and toxicity, licensing and privacy, and benchmark contamination."
)

ANSWER_1E = (
    "Fine-tuning means continuing training of the pre-trained parameters on data for a specific task. "
    "It differs in data (small and usually labelled instead of huge and unlabelled), in objective "
    "(task loss) and in scale (much cheaper)."
)

ANSWER_1F = (
    "Memory and compute. The weights, gradients and optimizer state of billions of parameters do not "
    "fit in one accelerator's memory, so the model has to be trained with parallelism over many "
    "devices, which is expensive and complex."
)


# === 2. PEFT ================================================================

ANSWER_2A = (
    "PEFT freezes most or all pre-trained weights and trains only a small set of parameters, so each "
    "task only needs a small number of trainable weights. Adapters insert small trainable bottleneck "
    "layers into the frozen network; LoRA learns low-rank matrices A and B whose product is added to "
    "a frozen weight matrix."
)


def relu(v):
    return np.maximum(v, 0)


def fnn(X, W_up, W_down):
    return relu(X @ W_up) @ W_down


def houlsby_fnn(X, W_up, W_down, A_down, A_up):
    H = fnn(X, W_up, W_down)
    return H + relu(H @ A_down) @ A_up


def houlsby_params(d, m):
    return d * m + m * d


ANSWER_2C = (
    "FNN'(X) = H + ReLU(H A_down) A_up with H = FNN(X), A_down in R^{d x m} and A_up in R^{m x d}. "
    "The hyperparameter is the bottleneck size m, m << d, tuned on validation data; the adapter is "
    "initialised close to identity."
)

HOULSBY_FNN_ONLY = False

ANSWER_2D = (
    "No. Adapters only require d-dimensional inputs and outputs, so they can be placed after any "
    "sublayer, for example after multi-head attention as in Houlsby et al."
)


def lora_delta(A, B, alpha):
    scaling = alpha / A.shape[1]
    return scaling * (A @ B)


def lora_fnn(X, W_up, W_down, A, B, alpha):
    return relu(X @ (W_up + lora_delta(A, B, alpha))) @ W_down


def lora_params(d, r):
    return d * r + r * 4 * d


ANSWER_2E = (
    "FNN'(X) = ReLU(X (W_up + (alpha/r) A B)) W_down with A in R^{d x r} and B in R^{r x 4d}. "
    "Hyperparameters: the rank r (small, 1 to 64), the scale alpha and which weight matrices to "
    "adapt; B is initialised to zero and A randomly."
)

LORA_FNN_ONLY = False

ANSWER_2F = (
    "No, LoRA can be applied to any weight matrix. The original paper applies it to W_Q, W_K, W_V "
    "and W_O of attention."
)

HOULSBY_MERGEABLE = True

ANSWER_2G = (
    "Delta W_up = (alpha/r) A B, so FNN'(X) is Eq. (1). The update can be merged into the weight "
    "after training, so there is no extra latency at inference and tasks can be swapped by "
    "adding/subtracting Delta W. Houlsby adapters are a different case because they have a "
    "nonlinearity between the two projections."
)


# === 3. Transformer LLMs ====================================================

N_POSITIONAL_ENCODING_LAYERS = 1


def sinusoidal_positional_encoding(n, d):
    pe = np.zeros((n, d))
    for pos in range(n):
        for k in range(d):
            i = k // 2
            angle = pos / (10000 ** (2 * i / d))
            pe[pos, k] = np.sin(angle) if k % 2 == 0 else np.cos(angle)
    return pe


ANSWER_3A = (
    "Self-attention is permutation-equivariant, so the model does not know the order of tokens "
    "unless we add positional information. One positional encoding layer is used, at the input."
)


def lm_head(H, E):
    logits = H @ E.T
    logits -= logits.max(axis=-1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=-1, keepdims=True)


ANSWER_3B = (
    "The LM head maps each final hidden state to a distribution over the vocabulary. Weight tying: "
    "it uses the transpose of the input token embedding matrix."
)


def multi_head_attention(X, W_Q, W_K, W_V, W_O):
    n = X.shape[0]
    h, d, d_k = W_Q.shape
    out = np.zeros((n, h * d_k))
    for i in range(h):
        Q, K, V = X @ W_Q[i], X @ W_K[i], X @ W_V[i]
        for t in range(n):
            s = Q[t] @ K[: t + 1].T / np.sqrt(d_k)
            w = np.exp(s - s.max())
            w /= w.sum()
            out[t, i * d_k:(i + 1) * d_k] = w @ V[: t + 1]
    return out @ W_O


ANSWER_3C = (
    "MHA(X) = [SA_1(X), ..., SA_n(X)] W_O: concatenation of the head outputs followed by the output "
    "projection W_O. theta_MHA = theta_SA_1 U ... U theta_SA_n U {W_O}."
)


def num_heads(d_model, d_head):
    return d_model // d_head


N_HEADS = 12288 * 128


def gpt3_params(d_model, n_layers, vocab_size):
    return n_layers * 12 * d_model ** 2 + vocab_size * d_model


GPT3_PARAMS = gpt3_params(12288, 96, 50000)
LARGEST_COMPONENT = "FNN"
