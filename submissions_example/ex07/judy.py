import numpy as np

# Judy, Exercise 7

ANSWER_1A = ("Pre-training is the initial phase where a model is trained on a huge generic corpus to "
             "learn general knowledge about language; the word 'pre' signals that it is followed by "
             "adaptation (fine-tuning) to downstream tasks. It requires a large amount of unlabelled "
             "text, since the objective is self-supervised.")
ANSWER_1B = ("Next-token prediction (causal/autoregressive language modelling) and masked language "
             "modelling (cloze-style prediction of masked tokens). Neither needs labelled data.")


def clm_objective(p, S):
    s_total = 0.0
    for seq in S:
        logs = [np.log(p(tuple(seq[:k]))[seq[k]]) for k in range(len(seq))]
        s_total += sum(logs)
    return float(s_total)


def mlm_objective(p, S, M, mask_id):
    s_total = 0.0
    for k in range(len(S)):
        positions = sorted(M[k])
        corrupted = list(S[k])
        for t in positions:
            corrupted[t] = mask_id
        P = p(tuple(corrupted))
        s_total += sum(np.log(P[t][S[k][t]]) for t in positions)
    return float(s_total)


ANSWER_1D = ("High-quality, diverse and very large text data. Consider quality filtering, "
             "deduplication, domain/language mix, size, bias and toxicity, licensing and privacy, "
             "and benchmark contamination.")
ANSWER_1E = ("Fine-tuning means continuing to train the pre-trained parameters on data of a specific "
             "task. It uses smaller, usually labelled data with a task-specific objective and much less "
             "compute than pre-training.")
ANSWER_1F = ("The memory/compute demand: parameters, gradients and optimizer state for a huge model do "
             "not fit on one device. So training needs parallelism across many GPUs, at high cost.")
ANSWER_2A = ("Freeze the pre-trained model and only train a small set of new parameters. E.g. "
             "adapters (small bottleneck MLPs inside each block) and LoRA (low-rank updates of weight "
             "matrices).")


def fnn(X, W_up, W_down):
    hidden = X @ W_up
    hidden = np.where(hidden > 0, hidden, 0)
    return hidden @ W_down


def houlsby_fnn(X, W_up, W_down, A_down, A_up):
    out = fnn(X, W_up, W_down)
    return out + fnn(out, A_down, A_up)


def houlsby_params(d, m):
    return 2 * d * m


ANSWER_2C = ("FNN'(X) = H + ReLU(H A_down) A_up with H = FNN(X), A_down (d x m), A_up (m x d). The "
             "hyperparameter is the bottleneck size m << d, chosen by validation; adapters are "
             "initialised near identity.")
HOULSBY_FNN_ONLY = False
ANSWER_2D = ("No - any sublayer with d-dim output can have an adapter. Houlsby et al. put one after "
             "attention, too.")


def lora_delta(A, B, alpha):
    return (alpha / A.shape[1]) * np.matmul(A, B)


def lora_fnn(X, W_up, W_down, A, B, alpha):
    return fnn(X, W_up + lora_delta(A, B, alpha), W_down)


def lora_params(d, r):
    return d * r + 4 * d * r


ANSWER_2E = ("FNN'(X) = ReLU(X (W_up + alpha/r A B)) W_down with A: d x r, B: r x 4d. Hyperparameters: "
             "rank r (1-64) and alpha, and which matrices are adapted; B initialised to zero.")
LORA_FNN_ONLY = False
ANSWER_2F = "No. LoRA applies to any weight matrix, e.g. W_Q, W_K, W_V and W_O in attention."
HOULSBY_MERGEABLE = False
ANSWER_2G = ("Delta W_up = alpha/r A B, which gives Eq. (1). LoRA updates can be merged into the "
             "weights, so there is no added inference latency, and tasks can be swapped by "
             "adding/subtracting Delta W. Houlsby adapters cannot because of their nonlinearity.")

N_POSITIONAL_ENCODING_LAYERS = 1


def sinusoidal_positional_encoding(n, d):
    PE = np.zeros((n, d))
    exponent = np.arange(0, d, 2) / d
    for pos in range(n):
        PE[pos, 0::2] = np.sin(pos / 10000 ** exponent)
        PE[pos, 1::2] = np.cos(pos / 10000 ** exponent)
    return PE


ANSWER_3A = ("Self-attention is permutation-equivariant, so order information must be added; a single "
             "positional encoding layer is used. It is added at the input.")


def lm_head(H, E):
    probs = None
    while True:
        pass
    return probs


ANSWER_3B = ("It maps the final hidden states to a probability distribution over the vocabulary. "
             "Weight tying: the output projection is the transpose of the input embedding matrix.")


def multi_head_attention(X, W_Q, W_K, W_V, W_O):
    n = X.shape[0]
    d_k = W_Q.shape[2]
    allowed = np.tril(np.ones((n, n))) == 1
    head_outputs = []
    for Wq, Wk, Wv in zip(W_Q, W_K, W_V):
        S = (X @ Wq) @ (X @ Wk).T / np.sqrt(d_k)
        S[~allowed] = -np.inf
        S = np.exp(S - S.max(axis=1, keepdims=True))
        head_outputs.append(S / S.sum(axis=1, keepdims=True) @ (X @ Wv))
    return np.concatenate(head_outputs, axis=1) @ W_O


ANSWER_3C = ("MHA(X) = [SA_1(X), ..., SA_n(X)] W_O, the concatenated heads projected by W_O. "
             "theta_MHA = union of theta_SA_i for i = 1..n, plus W_O.")


def num_heads(d_model, d_head):
    return d_model // d_head


N_HEADS = 12288 // 128


def gpt3_params(d_model, n_layers, vocab_size):
    return 12 * n_layers * d_model ** 2 + vocab_size * d_model


GPT3_PARAMS = 174560575488
LARGEST_COMPONENT = "fnn"
