# Leo -- Exercise 7
import numpy as np

ANSWER_1A = ("Pre-training is the first, general training stage on a very large corpus; the model "
             "is later adapted to specific tasks, so it is not 'just trained' for a task. It needs "
             "large amounts of unlabelled text and is self-supervised.")
ANSWER_1B = "Causal LM (next-token prediction) and masked LM (predict masked tokens). Both are self-supervised."


def clm_objective(p, S):
    out = 0.0
    for s in S:
        for t in range(len(s)):
            out += np.log(p(tuple(s[:t]))[s[t]])
    return float(out)


def mlm_objective(p, S, M, mask_id):
    out = 0.0
    for i, s in enumerate(S):
        x = [mask_id if j in M[i] else tok for j, tok in enumerate(s)]
        q = p(tuple(x))
        for j in M[i]:
            out += np.log(q[j, s[j]])
    return float(out)


ANSWER_1D = ("Lots of diverse, high-quality text. Consider filtering, deduplication, domain and "
             "language mix, size, bias/toxicity, licensing/privacy and benchmark contamination.")
ANSWER_1E = ("Fine-tuning keeps training the pre-trained parameters on smaller, usually labelled task "
             "data. The data, the objective and the scale differ from pre-training.")
ANSWER_1F = ("Memory and compute: parameters, gradients and optimizer state need more memory than one "
             "GPU has. So we need parallelism over many devices.")
ANSWER_2A = ("Freeze the pre-trained weights and only train a few parameters. Examples are adapters "
             "(bottleneck layers) and LoRA (low-rank updates).")


def relu(x):
    return np.maximum(x, 0)


def fnn(X, W_up, W_down):
    return relu(X @ W_up) @ W_down


def houlsby_fnn(X, W_up, W_down, A_down, A_up):
    H = fnn(X, W_up, W_down)
    return H + relu(H @ A_down) @ A_up


def houlsby_params(d, m):
    return 2 * d * m


ANSWER_2C = ("FNN'(X) = H + ReLU(H A_down) A_up, A_down d x m, A_up m x d. Hyperparameter: bottleneck "
             "size m << d, chosen by validation.")
HOULSBY_FNN_ONLY = False
ANSWER_2D = "No, they can be put after any sublayer. E.g. also after attention."


def lora_delta(A, B, alpha):
    return alpha / A.shape[1] * A @ B


def lora_fnn(X, W_up, W_down, A, B, alpha):
    return fnn(X, W_up + lora_delta(A, B, alpha), W_down)


def lora_params(d, r):
    return 5 * d * r


ANSWER_2E = ("FNN'(X) = ReLU(X(W_up + alpha/r A B)) W_down, A d x r, B r x 4d. Hyperparameters: rank "
             "r and alpha; B initialised to zero.")
LORA_FNN_ONLY = False
ANSWER_2F = "No. LoRA works for any weight matrix (W_Q, W_K, W_V, W_O)."
HOULSBY_MERGEABLE = False
ANSWER_2G = ("Delta W = alpha/r A B can be merged into W_up, so no inference latency and easy task "
             "swapping. Houlsby adapters cannot, due to the nonlinearity.")

N_POSITIONAL_ENCODING_LAYERS = 1


def sinusoidal_positional_encoding(n, d):
    pe = np.zeros((n, d))
    pos = np.arange(n)[:, None]
    div = 10000 ** (np.arange(0, d, 2) / d)
    pe[:, 0::2] = np.sin(pos / div)
    pe[:, 1::2] = np.cos(pos / div)
    return pe


ANSWER_3A = ("Self-attention is permutation-equivariant, it ignores order, so positions must be "
             "encoded. One positional encoding layer at the input.")


def lm_head(H, E):
    z = H @ E.T
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


ANSWER_3B = ("The LM head maps hidden states to a distribution over the vocabulary; weight tying uses "
             "the transpose of the embedding matrix. This saves parameters.")


def multi_head_attention(X, W_Q, W_K, W_V, W_O):
    n, d_k = X.shape[0], W_Q.shape[2]
    mask = np.triu(np.full((n, n), -np.inf), 1)
    heads = []
    for i in range(W_Q.shape[0]):
        s = (X @ W_Q[i]) @ (X @ W_K[i]).T / np.sqrt(d_k) + mask
        s = np.exp(s - s.max(axis=1, keepdims=True))
        heads.append(s / s.sum(axis=1, keepdims=True) @ (X @ W_V[i]))
    return np.concatenate(heads, axis=1) @ W_O


ANSWER_3C = "MHA(X) = [SA_1(X), ..., SA_n(X)] W_O. theta_MHA = theta_SA_1 U ... U theta_SA_n U {W_O}."


def num_heads(d_model, d_head):
    return d_model // d_head


N_HEADS = num_heads(12288, 128)


def gpt3_params(d_model, n_layers, vocab_size):
    return n_layers * (12 * d_model ** 2) + vocab_size * d_model


GPT3_PARAMS = gpt3_params(12288, 96, 50000
LARGEST_COMPONENT = "fnn"
