import numpy as np
from math import log, sqrt

### Exercise 7 ### Frank

ANSWER_1A = """'Pre-trained' says that the training we did is only the first of (at least) two stages:
the model learns general-purpose representations from a large corpus and is then adapted to a task.
For an LLM this first stage uses huge amounts of raw, unlabelled text and a self-supervised objective,
so no human annotation is needed."""

ANSWER_1B = """The most common ones are causal language modelling (next-token prediction, the model
only sees the left context) and masked language modelling (some input tokens are masked and the model
reconstructs them from both sides). Both are self-supervised."""


def clm_objective(p, S):
    res = 0.0
    for s in S:
        prefix = ()
        for token in s:
            res += log(p(prefix)[token])
            prefix = prefix + (token,)
    return res


def mlm_objective(p, S, M, mask_id):
    res = 0.0
    for i in range(len(S)):
        masked_seq = tuple(mask_id if j in set(M[i]) else S[i][j] for j in range(len(S[i])))
        probs = p(masked_seq)
        for j in M[i]:
            res += log(probs[j, S[i][j]])
    return res


ANSWER_1D = """A lot of diverse and clean text. Things to consider: data quality (filtering spam and
boilerplate), deduplication, the domain and language mix, dataset size, bias/toxicity, licensing and
privacy (personal data), and benchmark contamination."""

ANSWER_1E = """Fine-tuning continues training the pre-trained parameters on task data. The task data is
smaller and normally labelled, the objective is the task's supervised loss instead of language
modelling, and it needs much less compute than pre-training."""

ANSWER_1F = """Memory and compute: storing weights, gradients and the optimizer state for billions of
parameters needs far more memory than one device has. Training therefore requires model and data
parallelism over many GPUs and is very expensive."""

ANSWER_2A = """PEFT: keep (freeze) the pre-trained weights and train only a few new or chosen
parameters. Examples: adapters (small bottleneck modules between layers) and prompt tuning (learned
soft-prompt embeddings in front of the input)."""


def _relu(a):
    return a * (a > 0)


def fnn(X, W_up, W_down):
    return _relu(X @ W_up) @ W_down


def houlsby_fnn(X, W_up, W_down, A_down, A_up):
    out = fnn(X, W_up, W_down)
    return out + _relu(out @ A_down) @ A_up


def houlsby_params(d, m):
    return 2 * m * d


ANSWER_2C = """FNN'(X) = H + relu(H A_down) A_up with H = FNN(X), A_down: d x m, A_up: m x d. The
hyperparameter is the bottleneck dimension m << d, set on a validation set; the adapter is initialised
near identity."""

HOULSBY_FNN_ONLY = False

ANSWER_2D = """No, they can follow any sublayer with d-dimensional output, e.g. the attention sublayer,
which is also where Houlsby et al. place one. The adapter only needs matching
input and output dimensions."""


def lora_delta(A, B, alpha):
    return (alpha / A.shape[1]) * A @ B


def lora_fnn(X, W_up, W_down, A, B, alpha):
    return fnn(X, W_up + lora_delta(A, B, alpha), W_down)


def lora_params(d, r):
    return 5 * r * d


ANSWER_2E = """FNN'(X) = relu(X(W_up + alpha/r * A B)) W_down where A is d x r and B is r x 4d. The
hyperparameters are the rank r (small, 4-64) and the scale alpha (plus the set of adapted matrices);
B is initialised to zero."""

LORA_FNN_ONLY = False

ANSWER_2F = """No. Any weight matrix can get a low-rank update, e.g. W_Q, W_K, W_V, W_O in attention."""

HOULSBY_MERGEABLE = False

ANSWER_2G = """DeltaW_up = (alpha/r) A B gives Eq. (1). Because the update merges into the weight
matrix, there is no extra inference latency and tasks can be switched by adding/subtracting DeltaW.
Houlsby adapters cannot be merged because of their nonlinearity between the down and up projection."""

N_POSITIONAL_ENCODING_LAYERS = 1


def sinusoidal_positional_encoding(n, d):
    P = np.zeros((n, d))
    for k in range(d // 2):
        w = 1.0 / 10000 ** (2 * k / d)
        P[:, 2 * k] = np.sin(np.arange(n) * w)
        P[:, 2 * k + 1] = np.cos(np.arange(n) * w)
    return P


ANSWER_3A = """Self-attention is order-agnostic (permutation-equivariant), so without positional
encodings the model could not distinguish different token orders. There is one positional encoding
layer, at the input of the network."""


def lm_head(H, E):
    z = H @ E.T
    z = np.exp(z - np.max(z, axis=1)[:, None])
    return z / np.sum(z, axis=1)[:, None]


ANSWER_3B = """The LM head turns the last hidden states into a probability distribution over the
vocabulary (projection + softmax). Weight tying means the head's matrix is the transpose of the input
embedding matrix."""


def multi_head_attention(X, W_Q, W_K, W_V, W_O):
    d_k = W_Q.shape[2]
    heads = []
    for i in range(W_Q.shape[0]):
        Q = X @ W_Q[i]
        K = X @ W_K[i]
        V = X @ W_V[i]
        A = Q @ K.T / sqrt(d_k)
        A = np.exp(A - A.max(axis=1, keepdims=True))
        A = A / A.sum(axis=1, keepdims=True)
        heads.append(A @ V)
    return np.concatenate(heads, axis=1) @ W_O


ANSWER_3C = """MHA(X) = [SA_1(X), ..., SA_n(X)] W_O, i.e. concatenate the head outputs and multiply by
W_O. theta_MHA is the union theta_SA_1 U ... U theta_SA_n U {W_O}."""


def num_heads(d_model, d_head):
    return d_model // d_head


N_HEADS = num_heads(12288, 128)


def gpt3_params(d_model, n_layers, vocab_size):
    per_layer = 4 * d_model ** 2 + 2 * d_model * 4 * d_model
    return n_layers * per_layer + vocab_size * d_model


GPT3_PARAMS = gpt3_params(12288, 96, 50000)
LARGEST_COMPONENT = "FFN"
