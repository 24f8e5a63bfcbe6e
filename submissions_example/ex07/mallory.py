import numpy as np

# Mallory -- ex 7 (work in progress)

ANSWER_1A = ("A model is pre-trained when it was trained on a large general-purpose corpus as a first "
             "step, before being adapted to the tasks we care about; the term stresses that this is "
             "preparation and not the final training. We need huge amounts of unlabelled raw text, "
             "since the learning signal is self-supervised.")
ANSWER_1B = ("Causal (autoregressive) language modelling = next-token prediction, and masked language "
             "modelling = predicting masked-out tokens from their context. No labels are needed.")


def clm_objective(p, S):
    acc = 0.0
    for seq in S:
        for pos in range(len(seq)):
            acc += np.log(p(tuple(seq[:pos]))[seq[pos]])
    return float(acc)


def mlm_objective(p, S, M, mask_id):
    acc = 0.0
    for idx, seq in enumerate(S):
        corrupted = list(seq)
        for pos in M[idx]:
            corrupted[pos] = mask_id
        probs = p(tuple(corrupted))
        for pos in M[idx]:
            acc += np.log(probs[pos, seq[pos]])
    return float(acc)


ANSWER_1D = ("Large, diverse, high-quality text. Important factors are quality filtering, "
             "deduplication, domain and language mix, data size, bias and toxicity, licensing and "
             "privacy, and benchmark contamination.")
ANSWER_1E = ("Fine-tuning continues training the pre-trained weights on a (smaller, usually labelled) "
             "task dataset. It differs from pre-training in data, objective and scale.")
ANSWER_1F = ("Memory and compute: the parameters, gradients and optimizer state do not fit on one "
             "GPU. So we need parallelism across many devices, which is very expensive.")
ANSWER_2A = ("PEFT freezes the pre-trained weights and trains only a few new parameters. Examples: "
             "adapters (small bottleneck layers) or LoRA (low-rank updates of weight matrices).")


def fnn(X, W_up, W_down):
    return np.maximum(X @ W_up, 0) @ W_down


# quick check before moving on
_X = np.ones((2, 3))
print(houlsby_fnn(_X, np.eye(3, 12), np.eye(12, 3), np.eye(3, 2), np.eye(2, 3)))


def houlsby_fnn(X, W_up, W_down, A_down, A_up):
    H = fnn(X, W_up, W_down)
    return H + np.maximum(H @ A_down, 0) @ A_up


def houlsby_params(d, m):
    return 2 * d * m


ANSWER_2C = ("FNN'(X) = H + ReLU(H A_down) A_up with A_down (d x m) and A_up (m x d); the "
             "hyperparameter is the bottleneck size m << d. It is tuned on validation data.")
HOULSBY_FNN_ONLY = False
ANSWER_2D = "No. An adapter can follow any sublayer, e.g. the attention sublayer."


def lora_delta(A, B, alpha):
    return alpha / A.shape[1] * (A @ B)


def lora_fnn(X, W_up, W_down, A, B, alpha):
    return fnn(X, W_up + lora_delta(A, B, alpha), W_down)


def lora_params(d, r):
    return 5 * d * r


ANSWER_2E = ("FNN'(X) = ReLU(X (W_up + alpha/r A B)) W_down, A (d x r), B (r x 4d). Hyperparameters: "
             "rank r and alpha; B starts at zero.")
LORA_FNN_ONLY = False
ANSWER_2F = "No. LoRA works on any weight matrix, e.g. W_Q, W_K, W_V, W_O."
HOULSBY_MERGEABLE = False
ANSWER_2G = ("The update merges into W_up (Eq. 1): no extra inference latency, tasks swap by "
             "adding/subtracting Delta W. Houlsby adapters can't because of their nonlinearity.")

N_POSITIONAL_ENCODING_LAYERS = 1


def sinusoidal_positional_encoding(n, d):
    pe = np.zeros((n, d))
    ang = np.arange(n)[:, None] / 10000 ** (np.arange(0, d, 2)[None, :] / d)
    pe[:, 0::2] = np.sin(ang)
    pe[:, 1::2] = np.cos(ang)
    return pe


ANSWER_3A = "Attention is order-agnostic (permutation-equivariant). So we use one positional encoding layer at the input."


def lm_head(H, E):
    z = H @ E.T
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


ANSWER_3B = "Maps hidden states to a distribution over the vocabulary. Weight tying uses the transpose of the embedding matrix."


def multi_head_attention(X, W_Q, W_K, W_V, W_O):
    n, d_k = X.shape[0], W_Q.shape[-1]
    causal = np.triu(np.full((n, n), -np.inf), k=1)
    outs = []
    for h in range(len(W_Q)):
        att = (X @ W_Q[h]) @ (X @ W_K[h]).T / np.sqrt(d_k) + causal
        att = np.exp(att - att.max(axis=-1, keepdims=True))
        outs.append(att / att.sum(axis=-1, keepdims=True) @ (X @ W_V[h]))
    return np.concatenate(outs, axis=-1) @ W_O


ANSWER_3C = "MHA(X) = [SA_1(X), ..., SA_n(X)] W_O. theta = union of theta_SA_i and {W_O}."


def num_heads(d_model, d_head):
    return d_model // d_head


N_HEADS = 96


def gpt3_params(d_model, n_layers, vocab_size):
    return 12 * n_layers * d_model ** 2 + vocab_size * d_model


GPT3_PARAMS = 174560575488
LARGEST_COMPONENT = "FNN"
