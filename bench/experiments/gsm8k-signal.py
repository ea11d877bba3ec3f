"""Where GSM8K's routing signal runs out (docs/router.md, "GSM8K: where the signal runs out").

Held-out cost reduction at 95% of the strong model's accuracy, mean over random 80/20
splits of the GSM8K rows, for scores a router could compute from the prompt. A numpy
replica of routingCurve (src/middleware/router/knn/evaluate.ts), tokens as characters / 4,
GPT-4 1106 at $10 / $30 and Mixtral at $0.7 per million tokens.

  python3 bench/experiments/gsm8k-signal.py ../shared/data/routing/routellm-gsm8k-mmlu.dev.jsonl [gsm8k-use.json]

The second file (from gsm8k-embed.mjs) adds the neural-embedding rows. Needs numpy only;
takes a few minutes.
"""
import hashlib, json, re, sys
import numpy as np

W, S = "mixtral-8x7b-instruct", "gpt-4-1106-preview"
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
g = [r for r in rows if r["source"] == "gsm8k"]
wc = np.array([r["outcomes"][W]["correct"] for r in g], float)
sc = np.array([r["outcomes"][S]["correct"] for r in g], float)
pt = np.array([len(r["prompt"]) / 4 for r in g])
wu = (pt + np.array([len(r["outcomes"][W]["response"]) / 4 for r in g])) * 0.7e-6
su = pt * 10e-6 + np.array([len(r["outcomes"][S]["response"]) / 4 for r in g]) * 30e-6


def reduction(idx, score):
    """Best cost reduction keeping 95% of the strong model's right answers; higher score: weak first."""
    o = idx[np.argsort(-score, kind="stable")]
    total, right = su[idx].sum(), sc[idx].sum()
    cost = total + np.cumsum(wu[o] - su[o])
    ok = right + np.cumsum(wc[o] - sc[o]) >= 0.95 * right - 1e-9
    return max(0.0, (1 - cost[ok] / total).max()) if ok.any() else 0.0


def auc(score, label):
    r = np.argsort(np.argsort(score)) + 1
    n1 = label.sum()
    return (r[label == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * (len(label) - n1))


def split(seed):
    h = np.array([int(hashlib.md5(f"{seed}-{r['id']}".encode()).hexdigest()[:8], 16) / 2**32 for r in g])
    return np.where(h < 0.8)[0], np.where(h >= 0.8)[0]


def logistic(X, y, l2, iters=15):
    """L2-penalized logistic regression by Newton's method; column 0 is the unpenalized intercept."""
    w = np.zeros(X.shape[1])
    pen = np.r_[0, np.ones(X.shape[1] - 1)] * l2
    for _ in range(iters):
        p = 1 / (1 + np.exp(-X @ w))
        w -= np.linalg.solve((X.T * (p * (1 - p))) @ X + np.diag(pen), X.T @ (p - y) + pen * w)
    return w


def shape(p):
    nums = re.findall(r"\d[\d,]*(?:\.\d+)?", p)
    vals = [float(n.replace(",", "")) for n in nums] or [0]
    w = re.findall(r"[a-z]+", p.lower())
    has = lambda *ws: sum(x in ws for x in w)
    return [len(p) / 100, len(nums), np.log1p(max(vals)), sum("." in n for n in nums), p.count("%"),
            len(re.findall(r"\d/\d", p)), p.count(".") + p.count("?"),
            has("half", "twice", "double", "triple", "third", "quarter", "fourth"), has("percent"),
            has("each", "per", "every"), has("minutes", "hours", "days", "weeks", "months", "years", "hour", "minute"),
            has("more", "less", "fewer", "than"), has("if", "then", "after", "before", "remaining", "rest", "left"),
            len(set(w)) / max(1, len(w)), has("average", "profit", "ratio", "rate", "speed", "interest"), p.count("$")]


def words(p):
    t = ["<num>" if x.isdigit() else x for x in re.findall(r"[a-z]+|\d+|[%$/.]", p.lower())]
    return set(t) | {a + "_" + b for a, b in zip(t, t[1:])}


X = np.array([shape(r["prompt"]) for r in g])
X = np.c_[np.ones(len(g)), (X - X.mean(0)) / (X.std(0) + 1e-9)]
T = [words(r["prompt"]) for r in g]
V = None
if len(sys.argv) > 2:
    emb = {e["id"]: e["v"] for e in json.load(open(sys.argv[2]))}
    V = np.array([emb[r["id"]] for r in g])
    V /= np.linalg.norm(V, axis=1, keepdims=True)

results = {}
def add(name, te, score):
    results.setdefault(name, []).append((reduction(te, score), auc(score, wc[te])))

rng = np.random.default_rng(0)
for seed in range(1, 41):
    tr, te = split(seed)
    add("random", te, rng.random(len(te)))
    add("prompt length (shorter to weak)", te, -pt[te])
    add("logistic on 16 shape features", te, X[te] @ logistic(X[tr], wc[tr], 5.0))
    if seed <= 20:
        df = {}
        for i in tr:
            for t in T[i]:
                df[t] = df.get(t, 0) + 1
        vocab = {t: j for j, t in enumerate(t for t, c in df.items() if c >= 5)}
        B = np.zeros((len(g), len(vocab)))
        for i, ts in enumerate(T):
            for t in ts:
                if t in vocab:
                    B[i, vocab[t]] = 1
        B = np.c_[np.ones(len(g)), 3 * B / np.sqrt(B.sum(1, keepdims=True) + 1)]
        add("logistic probe on words and word pairs (20 splits)", te, B[te] @ logistic(B[tr], wc[tr], 10.0))
    if V is not None:
        sim = V[te] @ V[tr].T
        for k in (10, 20, 50, 100):
            nn = np.argsort(-sim, axis=1)[:, :k]
            add(f"kNN vote on neural embeddings, k {k}", te, wc[tr][nn].mean(1))
        E = np.c_[np.ones(len(g)), 10 * V]
        add("logistic probe on neural embeddings", te, E[te] @ logistic(E[tr], wc[tr], 100.0))
        C = np.c_[X, 10 * V]
        add("the same plus the shape features", te, C[te] @ logistic(C[tr], wc[tr], 300.0))

for name, v in results.items():
    r = np.array(v)
    print(f"{name:55s} {100 * r[:, 0].mean():5.1f}% ± {100 * r[:, 0].std() / np.sqrt(len(r)):.1f}  AUC {r[:, 1].mean():.3f}")

# An oracle no router has: the number of "=" in GPT-4's own solution (fewer: weak first), whole set.
everything = np.arange(len(g))
steps = np.array([r["outcomes"][S]["response"].count("=") for r in g], float)
steps_score = -steps + rng.random(len(g)) * 0.01  # ties broken at random
print(f"{'oracle: fewer = in GPT-4 solution (whole set)':55s} {100 * reduction(everything, steps_score):5.1f}%"
      f"          AUC {auc(-steps, wc):.3f}")
# What AUC reaches 35%: the true labels degraded by noise, whole set.
for sigma in (1.3, 1.6, 2.0):
    r = [(reduction(everything, s), auc(s, wc)) for s in (wc + rng.normal(0, sigma, len(g)) for _ in range(30))]
    r = np.array(r)
    print(f"{f'true labels + noise (sigma {sigma})':55s} {100 * r[:, 0].mean():5.1f}%          AUC {r[:, 1].mean():.3f}")
