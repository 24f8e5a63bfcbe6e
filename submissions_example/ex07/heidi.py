# Heidi - Uebungsblatt 7 / Exercise 7
import numpy as np

ANSWER_1A = ("We call it pre-trained because the model is first trained on a general task with a very "
             "big corpus, and only afterwards adapted to what we really want (fine-tuning); the "
             "pre-training gives a good starting point, not the final model. The data is large amounts "
             "of unlabelled raw text, and the model learns in a self-supervised way by predicting parts "
             "of the text from other parts.")
ANSWER_1B = ("Causal / autoregressive language modelling (next-token prediction) and masked language "
             "modelling (predict masked tokens, a cloze-style denoising objective). Both are "
             "self-supervised.")


def clm_objective(p, S):
    # cross-entropy loss summed over all tokens
    loss = 0.0
    for s in S:
        for t in range(len(s)):
            loss -= np.log(p(tuple(s[:t]))[s[t]])
    return float(loss)


def mlm_objective(p, S, M, mask_id):
    total = 0.0
    for i, s in enumerate(S):
        pos = np.fromiter(M[i], dtype=int)
        s_arr = np.asarray(s)
        s_masked = s_arr.copy()
        s_masked[pos] = mask_id
        probs = np.asarray(p(tuple(int(v) for v in s_masked)))
        total += np.log(probs[pos, s_arr[pos]]).sum()
    return float(total)


ANSWER_1D = ("Big, diverse, high-quality text corpora. One should consider quality filtering, "
             "deduplication, the mixture of domains and languages, the amount of data, bias and "
             "toxicity, licensing and privacy, and benchmark contamination.")
ANSWER_1E = ("Fine-tuning: continue to train the pre-trained parameters on task-specific data. Compared "
             "to pre-training it uses a small, usually labelled dataset, a supervised task objective and "
             "much less compute.")
ANSWER_1F = ("Memory and compute. The parameters, gradients and optimizer state (e.g. Adam moments) "
             "do not fit into the memory of a single GPU, so we need parallelism across many devices, "
             "which is expensive.")
ANSWER_2A = ("Freeze the pre-trained weights and train only a small set of new or selected parameters. "
             "Adapters add small bottleneck layers after sublayers; LoRA adds a low-rank update A B to "
             "frozen weight matrices.")


def fnn(X, W_up, W_down):
    return np.maximum(X @ W_up @ W_down, 0)


def houlsby_fnn(X, W_up, W_down, A_down, A_up):
    H = np.maximum(X @ W_up, 0) @ W_down
    adapter = np.maximum(H @ A_down, 0) @ A_up
    return H + adapter


def houlsby_params(d, m):
    return d * m * 2


ANSWER_2C = ("FNN'(X) = H + ReLU(H A_down) A_up where H = FNN(X), A_down is d x m and A_up is m x d. "
             "Hyperparameter: the bottleneck size m, much smaller than d, tuned on validation data. "
             "Near-identity initialisation.")
HOULSBY_FNN_ONLY = False
ANSWER_2D = ("No, the adapter works on any d-dimensional sublayer output; Houlsby et al. also insert it "
             "after the attention sublayer. It only needs a d-dimensional input and output.")


def lora_delta(A, B, alpha):
    d, r = A.shape
    return alpha * (A @ B) / r


def lora_fnn(X, W_up, W_down, A, B, alpha):
    W_adapted = W_up + lora_delta(A, B, alpha)
    return np.maximum(X @ W_adapted, 0) @ W_down


def lora_params(d, r):
    return (d + 4 * d) * r


ANSWER_2E = ("FNN'(X) = ReLU(X (W_up + (alpha/r) A B)) W_down with A in R^(d x r), B in R^(r x 4d). "
             "Hyperparameters: rank r (small, e.g. 1-64), scaling alpha, and which matrices to adapt. "
             "B is initialised to zero.")
LORA_FNN_ONLY = False
ANSWER_2F = ("No, LoRA can be applied to any weight matrix. Typical are W_Q, W_K, W_V and W_O of the "
             "attention.")
HOULSBY_MERGEABLE = False
ANSWER_2G = ("Delta W_up = (alpha/r) A B, so FNN' has the form of Eq. (1). The update can be merged into "
             "W_up: no extra latency at inference, and tasks are swapped by adding/subtracting Delta W. "
             "Houlsby adapters can't, because of the nonlinearity between their two projections.")

N_POSITIONAL_ENCODING_LAYERS = 1


def sinusoidal_positional_encoding(n, d):
    enc = np.zeros((n, d))
    for pos in range(n):
        for j in range(d // 2):
            theta = pos / 10000 ** (2 * j / d)
            enc[pos, 2 * j] = np.sin(theta)
            enc[pos, 2 * j + 1] = np.cos(theta)
    return enc


ANSWER_3A = ("Attention is permutation-equivariant and ignores token order, so order information must "
             "be added with positional encodings. Only one positional encoding layer, at the input.")


def lm_head(H, E):
    scores = H.dot(E.T)
    scores = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(scores)
    return e / e.sum(axis=1, keepdims=True)


ANSWER_3B = ("The LM head maps the last hidden states to a probability distribution over the vocabulary. "
             "With weight tying it uses the transpose of the input embedding matrix as its weights.")


def multi_head_attention(X, W_Q, W_K, W_V, W_O):
    n = X.shape[0]
    n_heads, _, d_k = W_Q.shape
    mask = np.zeros((n, n))
    mask[np.triu_indices(n, 1)] = -np.inf
    outs = []
    for h in range(n_heads):
        q, k, v = X @ W_Q[h], X @ W_K[h], X @ W_V[h]
        a = q @ k.T / np.sqrt(d_k) + mask
        a = np.exp(a - a.max(axis=-1, keepdims=True))
        outs.append((a / a.sum(axis=-1, keepdims=True)) @ v)
    return np.hstack(outs) @ W_O


ANSWER_3C = ("MHA(X) = [SA_1(X), ..., SA_n(X)] W_O (concatenation of heads times W_O); "
             "theta_MHA = theta_SA_1 U ... U theta_SA_n U {W_O}. Each head has its own W_Q, W_K, W_V.")


def num_heads(d_model, d_head):
    return int(d_model / d_head)


N_HEADS = 96


def gpt3_params(d_model, n_layers, vocab_size):
    return n_layers * 12 * d_model ** 2 + vocab_size * d_model


GPT3_PARAMS = 96 * 12 * 12288 ** 2 + 50000 * 12288
LARGEST_COMPONENT = "feed-forward network"
