"""Exercise 7: Large Language Models - Part 1 (Ivan)"""
import numpy as np

# 1 -------------------------------------------------------------------------
ANSWER_1A = (
    "Pre-training is a first generic training step on a large corpus that produces a general "
    "model, which is then adapted to specific tasks in a second step; that is why it is "
    "'pre'-trained and not just trained. The data is unlabelled raw text in large amounts, "
    "because the objectives are self-supervised."
)
ANSWER_1B = (
    "Causal language modelling (autoregressive next-token prediction) and masked language "
    "modelling (recover masked tokens, i.e. denoising). Both use unlabelled text."
)


def clm_objective(p, S):
    return float(sum(np.log(p(tuple(s[:i]))[tok]) for s in S for i, tok in enumerate(s)))


def mlm_objective(p, S, M, mask_id):
    value = 0.0
    for s, m in zip(S, M):
        m = set(m)
        inp = tuple(mask_id if i in m else w for i, w in enumerate(s))
        out = p(inp)
        value += sum(np.log(out[i, s[i]]) for i in m)
    return float(value)


ANSWER_1D = (
    "As much diverse, high-quality text as possible. We need quality filtering and deduplication, "
    "a good domain and language mix, enough size, and must watch bias, toxicity, licensing, "
    "privacy and contamination with benchmarks."
)
ANSWER_1E = (
    "Fine-tuning continues training a pre-trained model on task data. The data is small and "
    "usually labelled, the objective is the task loss, and the scale is much smaller than in "
    "pre-training."
)
ANSWER_1F = (
    "Memory and compute: parameters, gradients and optimizer state exceed the memory of a single "
    "device. So training needs parallelism across many GPUs and is very costly."
)

# 2 -------------------------------------------------------------------------
ANSWER_2A = (
    "PEFT freezes the pre-trained weights and trains only a small number of parameters. "
    "Examples: Houlsby adapters (bottleneck layers inserted in each block) and LoRA "
    "(low-rank updates to weight matrices)."
)


def fnn(X, W_up, W_down):
    return np.maximum(X @ W_up, 0.0) @ W_down


def houlsby_fnn(X, W_up, W_down, A_down, A_up):
    H = fnn(X, W_up, W_down)
    return np.maximum(H @ A_down, 0.0) @ A_up


def houlsby_params(d, m):
    return 2 * d * m


ANSWER_2C = (
    "FNN'(X) = ReLU(H A_down) A_up with H = FNN(X), A_down in R^{d x m}, A_up in R^{m x d}. "
    "Hyperparameter: the bottleneck size m << d, chosen on the validation set, with "
    "near-identity initialisation."
)
HOULSBY_FNN_ONLY = False
ANSWER_2D = (
    "No. Any sublayer with d-dimensional output can get an adapter; Houlsby et al. also put one "
    "after the attention sublayer."
)


def lora_delta(A, B, alpha):
    return alpha / A.shape[1] * (A @ B)


def lora_fnn(X, W_up, W_down, A, B, alpha):
    return fnn(X, W_up + lora_delta(A, B, alpha), W_down)


def lora_params(d, r):
    return 5 * d * r


ANSWER_2E = (
    "FNN'(X) = ReLU(X (W_up + (alpha/r) A B)) W_down, A in R^{d x r}, B in R^{r x 4d}. "
    "Hyperparameters: rank r (small) and scaling alpha, plus which weight matrices to adapt; "
    "B is zero-initialised."
)
LORA_FNN_ONLY = False
ANSWER_2F = "No: any weight matrix works. Often the attention projections W_Q, W_K, W_V, W_O are adapted."
HOULSBY_MERGEABLE = False
ANSWER_2G = (
    "With Delta W_up = (alpha/r) A B we get Eq. (1). The update can be merged into the weights, "
    "so no additional inference latency and easy task switching by adding/subtracting Delta W. "
    "Houlsby adapters cannot be merged because of the nonlinearity between the projections."
)

# 3 -------------------------------------------------------------------------
N_POSITIONAL_ENCODING_LAYERS = 1


def sinusoidal_positional_encoding(n, d):
    pos = np.arange(n)[:, np.newaxis]
    dims = np.arange(d)[np.newaxis, :]
    rates = 1 / np.power(10000, (2 * (dims // 2)) / d)
    angles = pos * rates
    return np.where(dims % 2 == 0, np.sin(angles), np.cos(angles))


ANSWER_3A = (
    "Self-attention is permutation-equivariant, so it does not see the order of tokens; positional "
    "encodings inject it. One positional encoding layer, at the input."
)


def lm_head(H, E):
    # scores for every word of the vocabulary
    return H @ E.T


ANSWER_3B = (
    "The LM head maps the final hidden states to a distribution over the vocabulary. With weight "
    "tying, its weight matrix is the transpose of the input embedding matrix."
)


def multi_head_attention(X, W_Q, W_K, W_V, W_O):
    n = X.shape[0]
    d_k = W_Q.shape[-1]
    Q = np.einsum("td,hdk->htk", X, W_Q)
    K = np.einsum("td,hdk->htk", X, W_K)
    V = np.einsum("td,hdk->htk", X, W_V)
    logits = np.einsum("hik,hjk->hij", Q, K) / np.sqrt(d_k)
    logits = logits + np.triu(np.full((n, n), -np.inf), 1)
    w = np.exp(logits - logits.max(-1, keepdims=True))
    w = w / w.sum(-1, keepdims=True)
    out = np.einsum("hij,hjk->ihk", w, V).reshape(n, -1)
    return out @ W_O


ANSWER_3C = (
    "MHA(X) = [SA_1(X), ..., SA_n(X)] W_O, the concatenated heads times W_O. "
    "theta_MHA = theta_SA_1 U ... U theta_SA_n U {W_O}."
)


def num_heads(d_model, d_head):
    return d_model // d_head


N_HEADS = 96


def gpt3_params(d_model, n_layers, vocab_size):
    return n_layers * 12 * d_model ** 2 + d_model * vocab_size


GPT3_PARAMS = gpt3_params(12288, 96, 50000)
LARGEST_COMPONENT = "FNN"
