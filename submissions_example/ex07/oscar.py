# Oscar - exercise 7 (final version, please grade this one)
import numpy as np

ANSWER_1A = ("A pre-trained model has been trained in a generic first phase on a big text corpus so "
             "that it can later be adapted to specific tasks; 'pre' marks that this is only "
             "preparation for fine-tuning. We need a lot of unlabelled raw text, since pre-training "
             "is self-supervised.")
ANSWER_1B = ("Causal language modelling (autoregressive next-token prediction) and masked language "
             "modelling (cloze-style reconstruction of masked tokens). GPT uses the first, BERT the "
             "second.")


def clm_objective(p, S):
    return float(np.sum([np.log(p(tuple(s[:t]))[s[t]]) for s in S for t in range(len(s))]))


def mlm_objective(p, S, M, mask_id):
    total = 0.0
    for s, m in zip(S, M):
        m = list(m)
        x = [mask_id if j in m else v for j, v in enumerate(s)]
        dist = p(tuple(x))
        total += float(np.sum([np.log(dist[j, s[j]]) for j in m]))
    return total


ANSWER_1D = ("A massive, diverse, high-quality corpus. Consider quality filtering, deduplication, the "
             "mix of domains and languages, size, bias and toxicity, licensing and privacy, and "
             "benchmark contamination.")
ANSWER_1E = ("Fine-tuning continues training the pre-trained parameters on task data, which is smaller "
             "and usually labelled. The objective is task-specific and the scale is much smaller than "
             "in pre-training.")
ANSWER_1F = ("Memory and compute: parameters, gradients and optimizer state don't fit on one GPU, so "
             "we need parallelism across many devices. The cost in hardware and energy is huge.")
ANSWER_2A = ("Freeze the pre-trained weights and train a small set of extra parameters. Examples: "
             "adapters (bottleneck modules) and LoRA (low-rank weight updates).")


def fnn(X, W_up, W_down):
    return np.maximum(X @ W_up, 0) @ W_down


def houlsby_fnn(X, W_up, W_down, A_down, A_up):
    H = fnn(X, W_up, W_down)
    return H + np.maximum(H @ A_down, 0) @ A_up


def houlsby_params(d, m):
    return 2 * d * m


ANSWER_2C = ("FNN'(X) = H + ReLU(H A_down) A_up with A_down (d x m), A_up (m x d). Hyperparameter: "
             "bottleneck size m << d, set via validation; near-identity initialisation.")
HOULSBY_FNN_ONLY = False
ANSWER_2D = ("No, adapters can follow any sublayer with a d-dimensional output. Houlsby et al. also put "
             "one after the attention sublayer.")


def lora_delta(A, B, alpha):
    return (alpha / A.shape[1]) * (A @ B)


def lora_fnn(X, W_up, W_down, A, B, alpha):
    return fnn(X, W_up + lora_delta(A, B, alpha), W_down)


def lora_params(d, r):
    return 5 * d * r


ANSWER_2E = ("FNN'(X) = ReLU(X (W_up + alpha/r A B)) W_down, A (d x r), B (r x 4d). Hyperparameters: "
             "rank r, scaling alpha, adapted matrices; B initialised to zero.")
LORA_FNN_ONLY = False
ANSWER_2F = "No. LoRA can adapt any weight matrix, e.g. the attention matrices W_Q, W_K, W_V, W_O."
HOULSBY_MERGEABLE = False
ANSWER_2G = ("Delta W_up = alpha/r A B merges into the weight (Eq. 1): no extra inference latency and "
             "tasks swap by adding/subtracting Delta W. Houlsby adapters cannot due to the nonlinearity.")

N_POSITIONAL_ENCODING_LAYERS = 1


def sinusoidal_positional_encoding(n, d):
    pe = np.zeros((n, d))
    a = np.arange(n)[:, None] / 10000 ** (np.arange(0, d, 2) / d)
    pe[:, ::2] = np.sin(a)
    pe[:, 1::2] = np.cos(a)
    return pe


ANSWER_3A = ("Self-attention is permutation-equivariant and has no sense of order, so positions must "
             "be encoded. There is one positional encoding layer, at the input.")


def lm_head(H, E):
    z = H @ E.T
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


ANSWER_3B = ("The LM head maps hidden states to a probability distribution over the vocabulary; weight "
             "tying means the head uses the transpose of the input embedding matrix. This saves V x d "
             "parameters.")


def multi_head_attention(X, W_Q, W_K, W_V, W_O):
    n, d_k = X.shape[0], W_Q.shape[2]
    mask = np.triu(np.full((n, n), -np.inf), 1)
    heads = []
    for wq, wk, wv in zip(W_Q, W_K, W_V):
        s = (X @ wq) @ (X @ wk).T / np.sqrt(d_k) + mask
        s = np.exp(s - s.max(axis=1, keepdims=True))
        heads.append((s / s.sum(axis=1, keepdims=True)) @ (X @ wv))
    return np.concatenate(heads, axis=1) @ W_O


ANSWER_3C = ("MHA(X) = [SA_1(X), ..., SA_n(X)] W_O, i.e. the heads are concatenated and projected. "
             "theta_MHA = theta_SA_1 U ... U theta_SA_n U {W_O}.")


def num_heads(d_model, d_head):
    return d_model // d_head


N_HEADS = 96


def gpt3_params(d_model, n_layers, vocab_size):
    return 12 * n_layers * d_model ** 2 + vocab_size * d_model


GPT3_PARAMS = 174_560_575_488
LARGEST_COMPONENT = "FNN"
