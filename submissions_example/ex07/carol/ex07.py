# Exercise 7 - LLMs part 1 - Carol
# helpers live in linalg_helpers.py, the model sizes in config.json
import json
import math

import numpy as np

from linalg_helpers import relu, softmax, causal_mask, low_rank

with open("config.json") as fh:
    CONFIG = json.load(fh)

# ----- Task 1 ---------------------------------------------------------------

ANSWER_1A = """Pre-training is the first training phase, in which a model learns general
language knowledge from a huge corpus; it is called pre-training because the model is
meant to be adapted afterwards (fine-tuned or prompted) for downstream tasks rather than
used as the end result. It needs large amounts of unlabelled text, since the training
signal is self-supervised and comes from the raw text itself."""

ANSWER_1B = """Causal (autoregressive) language modelling, where the model does next-token
prediction from left to right, and masked language modelling, where random tokens are
masked and must be recovered from the bidirectional context (a denoising / cloze objective). GPT-style models use the first, BERT-style
models the second."""


def clm_objective(p, S):
    return float(sum(math.log(p(tuple(s[:t]))[s[t]]) for s in S for t in range(len(s))))


def mlm_objective(p, S, M, mask_id):
    result = 0.0
    for s, positions in zip(S, M):
        positions = list(positions)
        corrupted = tuple(mask_id if j in positions else tok for j, tok in enumerate(s))
        dists = p(corrupted)
        result += sum(math.log(dists[j][s[j]]) for j in positions)
    return float(result)


ANSWER_1D = """Pre-training data should be massive, diverse (many domains, genres, possibly
languages and code) and of high quality. Factors to consider: filtering out low-quality or
toxic text, deduplication, the domain/language mixture, the amount of data relative to
model size, bias, licensing/copyright and privacy, and contamination with evaluation benchmarks."""

ANSWER_1E = """Fine-tuning takes the pre-trained weights and keeps training them on a
specific downstream task. It differs from pre-training in the data (a small, usually
labelled, task-specific dataset instead of a huge unlabelled corpus), the objective
(supervised task loss) and the scale (much less compute)."""

ANSWER_1F = """Memory: the weights, gradients and optimizer state (Adam's moments) of a
model with billions of parameters do not fit on a single accelerator, and the compute is
enormous. We have to shard the model and use parallelism across many GPUs (data, tensor,
pipeline), which is expensive and brings communication overhead."""

# ----- Task 2 ---------------------------------------------------------------

ANSWER_2A = """PEFT keeps the pre-trained model frozen and only trains a small number of
extra or selected parameters, which saves memory and storage per task. Example 1: LoRA
adds a trainable low-rank update to some weight matrices. Example 2: BitFit only trains
the bias terms of the network, everything else stays frozen."""


def fnn(X, W_up, W_down):
    return relu(X @ W_up) @ W_down


def houlsby_fnn(X, W_up, W_down, A_down, A_up):
    h = fnn(X, W_up, W_down)
    return h + relu(h @ A_down) @ A_up


def houlsby_params(d, m):
    return 2 * d * m


ANSWER_2C = """FNN'(X) = H + ReLU(H A_down) A_up where H = FNN(X), with new parameters
A_down (d x m) and A_up (m x d). The hyperparameter is the bottleneck size m << d, which
is set by tuning on validation data; the adapter starts close to an identity function."""

HOULSBY_FNN_ONLY = False

ANSWER_2D = """No, they can be put after any sublayer whose output is d-dimensional, for
example the multi-head attention - the original Houlsby paper puts an adapter after both
the attention and the FNN sublayer. Nothing in the adapter is specific to
the FNN."""


def lora_delta(A, B, alpha):
    rank = A.shape[-1]
    return low_rank(A, B, alpha / rank)


def lora_fnn(X, W_up, W_down, A, B, alpha):
    return relu(X @ (W_up + lora_delta(A, B, alpha))) @ W_down


def lora_params(d, r):
    return 5 * d * r


ANSWER_2E = """FNN'(X) = ReLU(X (W_up + alpha/r * A B)) W_down, A in R^(d x r),
B in R^(r x 4d). Hyperparameters: rank r (1-64, small) and the scaling alpha, plus the
choice of which matrices to adapt. A is random, B is zero-initialised so DeltaW = 0 at the start."""

LORA_FNN_ONLY = False

ANSWER_2F = """No. LoRA only needs a weight matrix to add a low-rank update to, so it works
on any linear layer, e.g. W_Q, W_K, W_V and W_O in attention."""

HOULSBY_MERGEABLE = False

ANSWER_2G = """Setting Delta W_up = (alpha/r) A B gives X (W_up + Delta W_up) inside the
nonlinearity, exactly Eq. (1). The advantage: we can merge the update into the weights,
so there is no additional inference latency, and we can swap tasks by subtracting and
adding Delta W. Houlsby adapters cannot be merged because of the nonlinearity between the
down- and up-projection."""

# ----- Task 3 ---------------------------------------------------------------

N_POSITIONAL_ENCODING_LAYERS = 1


def sinusoidal_positional_encoding(n, d):
    positions = np.arange(n).reshape(-1, 1)
    freqs = 1.0 / (10000 ** (np.arange(0, d, 2) / d))
    args = positions * freqs
    # interleave sin/cos: columns 0,2,4,... = sin; 1,3,5,... = cos
    return np.stack([np.sin(args), np.cos(args)], axis=-1).reshape(n, d)


ANSWER_3A = """Attention itself has no notion of order: permuting the input tokens only
permutes the outputs (permutation equivariance), so "dog bites man" and "man bites dog"
would look the same. Positional encodings add the order information. There is just one
positional encoding layer, at the input, no matter how many layers L the model has."""


def lm_head(H, E):
    return softmax(H @ E.T, axis=1)


ANSWER_3B = """The LM head takes the final hidden representations and projects them onto
the vocabulary, followed by a softmax, giving next-token probabilities. With weight tying
the projection matrix is the transpose of the input embedding matrix, so the embeddings
are reused instead of learning a separate output matrix."""


def multi_head_attention(X, W_Q, W_K, W_V, W_O):
    n_tokens = X.shape[0]
    d_k = W_Q.shape[2]
    heads = []
    for q_w, k_w, v_w in zip(W_Q, W_K, W_V):
        scores = (X @ q_w) @ (X @ k_w).T / math.sqrt(d_k)
        attn = softmax(scores + causal_mask(n_tokens), axis=-1)
        heads.append(attn @ (X @ v_w))
    return np.hstack(heads) @ W_O


ANSWER_3C = """MHA(X) = concat(SA_1(X), ..., SA_n(X)) W_O, i.e. the head outputs are
concatenated and multiplied by the output matrix W_O. Parameters:
theta_MHA = theta_SA_1 U theta_SA_2 U ... U theta_SA_n U {W_O}."""


def num_heads(d_model, d_head):
    return d_model // d_head


N_HEADS = num_heads(CONFIG["d_model"], CONFIG["d_head"])


def gpt3_params(d_model, n_layers, vocab_size):
    return 12 * n_layers * d_model ** 2 + vocab_size * d_model


GPT3_PARAMS = gpt3_params(CONFIG["d_model"], CONFIG["n_layers"], CONFIG["vocab_size"])
LARGEST_COMPONENT = "feed-forward layers"
