# Dave -- exercise sheet 7
# I do everything in float32 like on the GPU :)
import numpy as np

F = np.float32

ANSWER_1A = ("Pre-trained means the model was trained in a first stage on a large general corpus "
             "so that it learns general language knowledge, and this model is then the starting "
             "point for further training on the actual task. So it is not the final training, that "
             "is why we say pre-trained. We need huge amounts of unlabelled text, because the "
             "objective is self-supervised (e.g. predict the next word).")

ANSWER_1B = ("Causal language modeling (autoregressive, next-token prediction, like GPT) and masked "
             "language modeling (predict masked-out tokens from the context on both sides, like BERT). "
             "Both are self-supervised, the labels come from the text itself.")


def clm_objective(p, S):
    loglik = F(0.0)
    for sentence in S:
        for t in range(len(sentence)):
            q = np.asarray(p(tuple(sentence[:t]))).astype(np.float32)
            loglik += np.log(q[sentence[t]])
    return float(loglik)


def mlm_objective(p, S, M, mask_id):
    loglik = F(0.0)
    for i in range(len(S)):
        s = list(S[i])
        idx = list(M[i])
        s_masked = [mask_id if pos in idx else tok for pos, tok in enumerate(s)]
        probs = np.asarray(p(tuple(s_masked))).astype(np.float32)
        for pos in idx:
            loglik += np.log(probs[pos, s[pos]])
    return float(loglik)


ANSWER_1D = ("Large amounts of diverse, high quality text (web, books, Wikipedia, code). Things to "
             "consider: quality filtering, removing duplicates (deduplication), which domains and "
             "languages are included, the size, bias and toxicity, licences and privacy of the data, "
             "and that benchmark test data is not in the training set.")

ANSWER_1E = ("Fine-tuning means we start from the pre-trained parameters and continue training them "
             "on a downstream task. The data is different: a small, usually labelled data set for "
             "that task, instead of a huge unlabelled corpus. Also the objective is task-specific and "
             "the scale (data, compute) is much smaller.")

ANSWER_1F = ("The memory needed: parameters + gradients + optimizer state (Adam) for billions of "
             "parameters don't fit on one GPU. So we need parallelism over many GPUs/nodes and a lot "
             "of compute, which is very expensive.")

ANSWER_2A = ("Only a small number of parameters are trained while the pre-trained weights are "
             "frozen. Method 1: adapters - small bottleneck networks inserted in each layer. Method 2: "
             "LoRA - a low-rank matrix product A B is added to a frozen weight matrix and only A, B "
             "are trained.")


def relu32(z):
    return np.maximum(z, F(0))


def fnn(X, W_up, W_down):
    X, W_up, W_down = X.astype(np.float32), W_up.astype(np.float32), W_down.astype(np.float32)
    return relu32(X @ W_up) @ W_down


def houlsby_fnn(X, W_up, W_down, A_down, A_up):
    H = fnn(X, W_up, W_down)
    A_down, A_up = A_down.astype(np.float32), A_up.astype(np.float32)
    return H + relu32(H @ A_down) @ A_up


def houlsby_params(d, m):
    return 2 * d * m


ANSWER_2C = ("FNN'(X) = H + relu(H A_down) A_up with H = FNN(X); A_down has shape d x m and A_up "
             "has shape m x d. Hyperparameter: the bottleneck size m (much smaller than d), chosen "
             "with a validation set. Initialisation near identity (adapter output close to 0).")

HOULSBY_FNN_ONLY = False

ANSWER_2D = ("No, the adapter maps d dims to d dims, so it can go after any sublayer. Houlsby et "
             "al. use two adapters per layer, after attention and after the FNN.")


def lora_delta(A, B, alpha):
    A, B = A.astype(np.float32), B.astype(np.float32)
    return F(alpha / A.shape[1]) * (A @ B)


def lora_fnn(X, W_up, W_down, A, B, alpha):
    W = W_up.astype(np.float32) + lora_delta(A, B, alpha)
    return relu32(X.astype(np.float32) @ W) @ W_down.astype(np.float32)


def lora_params(d, r):
    return d * r + r * (4 * d)


ANSWER_2E = ("FNN'(X) = relu(X (W_up + alpha/r A B)) W_down, with A: d x r and B: r x 4d. "
             "Hyperparameters are the rank r (small, 1..64) and alpha for scaling, and which weight "
             "matrices we adapt. B starts as zeros so the update is zero in the beginning.")

LORA_FNN_ONLY = False

ANSWER_2F = ("No, it can be used on any weight matrix. For example W_Q, W_K, W_V, W_O in attention "
             "are the usual choice in the LoRA paper.")

HOULSBY_MERGEABLE = False

ANSWER_2G = ("With Delta W_up = alpha/r * A B we get exactly Eq. (1). Advantage: after training we "
             "merge Delta W into W_up so there is no extra inference latency, and tasks can be "
             "swapped by adding/subtracting Delta W. Houlsby adapters can't be merged, the "
             "nonlinearity between their two projections prevents it.")

N_POSITIONAL_ENCODING_LAYERS = 1


def sinusoidal_positional_encoding(n, d):
    pe = np.empty((n, d), dtype=np.float32)
    pos = np.arange(n, dtype=np.float32)[:, None]
    div = np.power(F(10000), np.arange(0, d, 2, dtype=np.float32) / F(d))
    pe[:, 0::2] = np.sin(pos / div)
    pe[:, 1::2] = np.cos(pos / div)
    return pe


ANSWER_3A = ("Because self-attention is permutation invariant/equivariant, it doesn't know the order "
             "of the tokens. The positional encoding adds the position to every token so order is "
             "known. Only 1 positional encoding layer, at the input, for all L layers.")


def softmax32(z):
    z = z - z.max(axis=-1, keepdims=True)
    ez = np.exp(z)
    return ez / ez.sum(axis=-1, keepdims=True)


def lm_head(H, E):
    return softmax32(H.astype(np.float32) @ E.astype(np.float32).T)


ANSWER_3B = ("The LM head maps the last hidden state to probabilities over the vocabulary (linear "
             "layer + softmax) to predict the next token. Weight tying: the output matrix is the "
             "transpose of the input token embedding matrix.")


def multi_head_attention(X, W_Q, W_K, W_V, W_O):
    X = X.astype(np.float32)
    n = X.shape[0]
    h, d, dk = W_Q.shape
    causal = np.tril(np.ones((n, n), dtype=bool))
    result = []
    for head in range(h):
        q = X @ W_Q[head].astype(np.float32)
        k = X @ W_K[head].astype(np.float32)
        v = X @ W_V[head].astype(np.float32)
        s = (q @ k.T) / np.sqrt(F(dk))
        s = np.where(causal, s, F(-np.inf))
        result.append(softmax32(s) @ v)
    return np.concatenate(result, axis=-1) @ W_O.astype(np.float32)


ANSWER_3C = ("MHA(X) = [SA_1(X), ..., SA_n(X)] W_O (concatenate all heads, then multiply with W_O). "
             "theta_MHA = theta_SA_1 u ... u theta_SA_n u {W_O}.")


def num_heads(d_model, d_head):
    return d_model // d_head


N_HEADS = 12288 / 128   # = 96.0


def gpt3_params(d_model, n_layers, vocab_size):
    return n_layers * (4 * d_model ** 2 + 2 * 4 * d_model ** 2) + vocab_size * d_model


# 96 * 12 * 12288^2 + 50000 * 12288 = approx. 174.56 billion
GPT3_PARAMS = 174.5606e9
LARGEST_COMPONENT = "Feed-Forward network (FFN)"
