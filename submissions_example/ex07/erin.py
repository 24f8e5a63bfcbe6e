"""Erin -- Exercise 7 (LLMs part 1)."""
import numpy as np

# ---------------------------------------------------------------- Task 1
ANSWER_1A = (
    "A pre-trained model has already been trained in a first stage on a broad, general corpus, and this "
    "training is meant as preparation: the model is later fine-tuned or adapted to downstream "
    "tasks, so 'trained' alone would suggest it is finished. Pre-training a language model "
    "needs very large amounts of unlabelled text; the labels are produced from the text itself, "
    "which is why it is called self-supervised learning."
)
ANSWER_1B = (
    "(1) Causal language modelling: the model predicts each token from the tokens before it "
    "(autoregressive next-token prediction). (2) Masked language modelling: a fraction of the "
    "tokens is replaced by [MASK] and the model predicts the original tokens (cloze task)."
)


def clm_objective(p, S):
    log_probs = [np.log(p(tuple(seq[:t]))[seq[t]]) for seq in S for t in range(len(seq))]
    return float(np.sum(log_probs))


def mlm_objective(p, S, M, mask_id):
    total = 0.0
    for seq, masked in zip(S, M):
        masked = list(masked)
        x = np.array(seq)
        x[masked] = mask_id
        dist = p(tuple(x.tolist()))
        total += float(np.sum(np.log(dist[masked, np.array(seq)[masked]])))
    return total


ANSWER_1D = (
    "The data should be large-scale, diverse and of high quality, e.g. filtered web crawl, "
    "books, Wikipedia and source code. We have to consider quality filtering, deduplication, "
    "the mix of domains and languages, the total size, harmful bias and toxicity, licensing "
    "and privacy issues, and contamination with benchmark data."
)
ANSWER_1E = (
    "Fine-tuning = continuing to train the pre-trained weights on the data of a particular task. "
    "Pre-training is generic, self-supervised and huge in scale, while fine-tuning uses a small "
    "and typically labelled dataset with a supervised task objective and much less compute."
)
ANSWER_1F = (
    "The memory and compute requirements. Parameters, gradients and optimizer states together "
    "need several times the model size in memory, more than a single GPU has, so training must "
    "be distributed with data/tensor/pipeline parallelism, which is costly."
)

# ---------------------------------------------------------------- Task 2
ANSWER_2A = (
    "Instead of updating all weights, PEFT freezes the pre-trained model and only trains a small "
    "number of additional or selected parameters. Houlsby adapters: bottleneck layers inserted "
    "after sublayers. LoRA: adds a trainable low-rank decomposition A B to frozen weight matrices."
)


def fnn(X, W_up, W_down):
    Z = X @ W_up
    return np.clip(Z, 0, None) @ W_down


def houlsby_fnn(X, W_up, W_down, A_down, A_up):
    H = fnn(X, W_up, W_down)
    return H + np.clip(H @ A_down, 0, None) @ A_up


def houlsby_params(d, m):
    return 2 * d * m


ANSWER_2C = (
    "FNN'(X) = H + ReLU(H A_down) A_up, H = FNN(X), with A_down of size d x m and A_up of "
    "size m x d. The main hyperparameter is the bottleneck size m (much smaller than d), set by "
    "trying a few values on the validation set; the adapter is initialised to be near-identity."
)
HOULSBY_FNN_ONLY = False
ANSWER_2D = (
    "No. Because the adapter is d -> m -> d with a residual connection, it can be inserted after "
    "any sublayer; Houlsby et al. use one after multi-head attention as well."
)


def lora_delta(A, B, alpha):
    return A @ B


def lora_fnn(X, W_up, W_down, A, B, alpha):
    return np.clip(X @ (W_up + A @ B), 0, None) @ W_down


def lora_params(d, r):
    return d * r + r * 4 * d


ANSWER_2E = (
    "FNN'(X) = ReLU(X (W_up + A B)) W_down with A in R^{d x r} and B in R^{r x 4d}. "
    "Hyperparameters: the rank r (small, e.g. 8) and alpha, and which matrices to adapt; "
    "B is initialised with zeros so fine-tuning starts from the original model."
)
LORA_FNN_ONLY = False
ANSWER_2F = (
    "No, LoRA can adapt any weight matrix. In practice it is often applied to the attention "
    "matrices W_Q, W_K, W_V and W_O."
)
HOULSBY_MERGEABLE = False
ANSWER_2G = (
    "With Delta W_up = A B the LoRA FNN is X (W_up + Delta W_up) inside the ReLU, as in Eq. (1). "
    "Advantage: the update can be merged into W_up after training, so there is no inference "
    "latency, and different tasks can be swapped by adding/subtracting their Delta W. Houlsby "
    "adapters cannot be written like this because of the nonlinearity inside the adapter."
)

# ---------------------------------------------------------------- Task 3
N_POSITIONAL_ENCODING_LAYERS = 1


def sinusoidal_positional_encoding(n, d):
    i = np.arange(d // 2)
    angle = np.arange(n)[:, None] / 10000 ** (2 * i[None, :] / d)
    out = np.zeros((n, d))
    out[:, ::2] = np.sin(angle)
    out[:, 1::2] = np.cos(angle)
    return out


ANSWER_3A = (
    "Self-attention is permutation-equivariant, i.e. it has no built-in notion of order, so the "
    "positions must be injected explicitly. The model uses a single positional encoding layer, "
    "added to the input embeddings, not one per transformer layer."
)


def lm_head(H, E):
    logits = H @ E.T
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


ANSWER_3B = (
    "The LM head maps each final hidden state to a distribution over the vocabulary (linear "
    "projection + softmax). Weight tying: the output projection is the transpose of the input "
    "embedding matrix, so they share parameters."
)


def multi_head_attention(X, W_Q, W_K, W_V, W_O):
    n = len(X)
    d_k = W_Q.shape[-1]
    Q = np.stack([X @ w for w in W_Q])
    K = np.stack([X @ w for w in W_K])
    V = np.stack([X @ w for w in W_V])
    S = np.einsum("hik,hjk->hij", Q, K) / np.sqrt(d_k)
    S[:, np.triu_indices(n, 1)[0], np.triu_indices(n, 1)[1]] = -np.inf
    P = np.exp(S - S.max(axis=-1, keepdims=True))
    P /= P.sum(axis=-1, keepdims=True)
    heads = np.einsum("hij,hjk->hik", P, V)
    return np.concatenate(list(heads), axis=1) @ W_O


ANSWER_3C = (
    "MHA(X) = [SA_1(X), ..., SA_n(X)] W_O: concatenate the outputs of all heads and project with "
    "W_O. theta_MHA = theta_SA_1 U ... U theta_SA_n U {W_O}."
)


def num_heads(d_model, d_head):
    return d_model // d_head


N_HEADS = 96


def gpt3_params(d_model, n_layers, vocab_size):
    return 12 * n_layers * d_model * d_model + vocab_size * d_model


GPT3_PARAMS = 174_560_575_488
LARGEST_COMPONENT = "MLP / FNN"
