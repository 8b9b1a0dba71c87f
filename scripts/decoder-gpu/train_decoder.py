"""Trains the vector-to-text decoder of src/decoder/ on a GPU, in PyTorch, with the same model and loss as
`lvm train-decoder` (src/decoder/tf-decoder.ts, reference.ts): h0 = tanh(v @ cond.w + cond.b); step input
[embed(token) ; v]; one GRU layer, gates r | z | n with PyTorch's equations (the ones reference.ts writes out);
logits = h @ head.w + head.b; teacher-forced cross-entropy over <s> + ids -> ids + </s>.

Why a second trainer: TF.js on one CPU core reads ~670 target pieces/s; the issue's targets need orders of magnitude
more training than a 2-core machine gives in a session. This script is the scale path, not the specification:
its output is imported by import-weights.ts, then evaluated by `lvm eval-decoder` on the WASM core like any
model `lvm train-decoder` writes.

The training vectors are made here: USE-lite (src/encoders/use-lite-reference.ts, re-written below in PyTorch,
float32 from the float16 weights export-data.ts writes) embeds every training sentence's token ids on the GPU.
Before training, the script checks its USE-lite against the validation file's vectors (the core INT8 encoder's,
as `lvm decoder-data` made them) and stops if they disagree.

Input: the folder export-data.ts writes. Output (--out): weights-N.bin parts (float32, little-endian, tensors in
model-format.ts's order, each part <= 15 MiB so it can travel back) and train-log.json.

--corrector trains vec2text's second model in the same network: v = [target ; hypothesis] (D = 1024). The
hypothesis half is the target itself (the first decode) or, for --corrector-share of the rows, the USE-lite vector of
a text the model generated for that sentence (a sampled and a greedy one, made on the GPU before training; at
--refresh of the time box the greedy one is made again by the corrector from the sampled one). Started from a
512-D decoder (--init), the hypothesis half starts at zero, so training begins from that decoder exactly.
Validation reports both roles (valLossFirst, valLossCorrector). import-weights.ts --fold writes the first-decode
role alone as a 512-D decoder (the two halves' weights added).

Usage: python3 train_decoder.py --data .gpu --out $OUT --seconds 330 --embed 256 --hidden 512
"""

import argparse
import gzip
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

BOS, EOS = 1, 2
PART_BYTES = 15 * 2**20


def read_gz(path, dtype):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=dtype)


def sentences(data, split):
    lengths = read_gz(os.path.join(data, f"{split}-lengths.u8.gz"), np.uint8).astype(np.int64)
    tokens = read_gz(os.path.join(data, f"{split}-tokens.u16.gz"), np.uint16).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    if offsets[-1] != len(tokens):
        raise SystemExit(f"{split}: lengths sum to {offsets[-1]}, tokens hold {len(tokens)}")
    return lengths, tokens, offsets


def by_length(lengths, tokens, offsets, rows=None):
    """{length: LongTensor [n, length]} of the sentences (all, or `rows`), and {length: their row numbers}."""
    rows = np.arange(len(lengths)) if rows is None else rows
    groups, where = {}, {}
    for n in np.unique(lengths[rows]):
        r = rows[lengths[rows] == n]
        idx = offsets[r][:, None] + np.arange(n)[None, :]
        groups[int(n)] = torch.from_numpy(tokens[idx])
        where[int(n)] = r
    return groups, where


# ---- USE-lite (use-lite-reference.ts) ---------------------------------------------------------------------------


class UseLite:
    def __init__(self, data, meta, device):
        raw = np.fromfile(os.path.join(data, "use-lite.f16"), dtype=np.float16)
        self.t = {}
        for spec in meta["useLite"]["tensors"]:
            n = int(np.prod(spec["shape"]))
            a = raw[spec["offset"] : spec["offset"] + n].astype(np.float32).reshape(spec["shape"])
            self.t[spec["name"]] = torch.from_numpy(a).to(device)
        self.device = device

    def layer(self, x, l):
        t = lambda name: self.t[f"layers.{l}.{name}"]  # noqa: E731
        B, n, w = x.shape
        h = x @ t("residualW") + t("residualB") if l == 0 else x
        a = F.layer_norm(x, (w,), t("ln1Scale"), t("ln1Bias"), eps=1e-6)
        qkv = a @ t("qkvW") + t("qkvB")  # [B, n, 3w]
        q, k, v = qkv.split(w, dim=-1)
        heads = lambda y: y.view(B, n, 4, w // 4).transpose(1, 2)  # noqa: E731  [B, 4, n, dh]
        q, k, v = heads(q) * (1 / math.sqrt(w // 4)), heads(k), heads(v)
        p = torch.softmax(q @ k.transpose(-1, -2), dim=-1)
        attn = (p @ v).transpose(1, 2).reshape(B, n, w)
        h = h + attn @ t("outW") + t("outB")
        f = F.layer_norm(h, (512,), t("ln2Scale"), t("ln2Bias"), eps=1e-6)
        return h + torch.relu(f @ t("ffn1W") + t("ffn1B")) @ t("ffn2W") + t("ffn2B")

    @torch.no_grad()
    def embed(self, ids):
        """ids: LongTensor [B, n] (one length, no padding) -> [B, 512] unit vectors."""
        ids = ids.to(self.device)
        B, n = ids.shape
        pos = torch.arange(n, device=self.device, dtype=torch.float32)[:, None]
        angle = pos * self.t["invTimescales"][None, :]  # float32, as the graph multiplies
        x = 2 * self.t["embeddings"][ids] + torch.cat([torch.sin(angle), torch.cos(angle)], dim=1)[None]
        for l in range(2):
            x = self.layer(x, l)
        v = torch.tanh(x.mean(dim=1) @ self.t["tanhW"] + self.t["tanhB"])
        return v / torch.sqrt(torch.clamp((v * v).sum(-1, keepdim=True), min=1e-12))

    def embed_groups(self, groups, where, count, chunk=8192):
        out = torch.empty(count, 512, device=self.device)
        for n, ids in groups.items():
            rows = torch.from_numpy(where[n]).to(self.device)
            for i in range(0, len(ids), chunk):
                out[rows[i : i + chunk]] = self.embed(ids[i : i + chunk])
        return out


# ---- The decoder (reference.ts) ---------------------------------------------------------------------------------


class Decoder(torch.nn.Module):
    def __init__(self, V, D, E, H, dropout=0.0):
        super().__init__()
        self.drop = torch.nn.Dropout(dropout)  # training only: the served model has no dropout
        self.V, self.D, self.E, self.H = V, D, E, H
        self.embed = torch.nn.Embedding(V, E)
        self.cond = torch.nn.Linear(D, H)
        self.gru = torch.nn.GRU(E + D, H)  # time-major; gates r | z | n
        self.head = torch.nn.Linear(H, V)
        # The TS initialisation's scales (model-format.ts initDecoderTensors uses uniform +-1/sqrt(fan-in)).
        torch.nn.init.normal_(self.embed.weight, std=0.1)

    def forward(self, v, inputs):
        """v [B, D], inputs [T, B] -> logits [T, B, V]."""
        T, B = inputs.shape
        h0 = torch.tanh(self.cond(v))[None]
        x = torch.cat([self.drop(self.embed(inputs)), v[None].expand(T, B, self.D)], dim=-1)
        out, _ = self.gru(x, h0)
        return self.head(self.drop(out))

    def tensors(self):
        """(name, float32 array) in model-format.ts's order, matrices [in, out]."""
        g = self.gru
        c = lambda t: t.detach().float().cpu().numpy()  # noqa: E731
        return [
            ("embed.tokens", c(self.embed.weight)),
            ("cond.w", c(self.cond.weight.T)),
            ("cond.b", c(self.cond.bias)),
            ("gru.w_x", c(g.weight_ih_l0.T)),
            ("gru.b_x", c(g.bias_ih_l0)),
            ("gru.w_h", c(g.weight_hh_l0.T)),
            ("gru.b_h", c(g.bias_hh_l0)),
            ("head.w", c(self.head.weight.T)),
            ("head.b", c(self.head.bias)),
        ]


def teacher_forced(ids):
    """ids [B, n] -> inputs [n + 1, B] (<s> + ids), targets [n + 1, B] (ids + </s>)."""
    B = ids.shape[0]
    bos = torch.full((B, 1), BOS, dtype=ids.dtype, device=ids.device)
    eos = torch.full((B, 1), EOS, dtype=ids.dtype, device=ids.device)
    return torch.cat([bos, ids], 1).T.contiguous(), torch.cat([ids, eos], 1).T.contiguous()


def loss_of(model, v, ids):
    inputs, targets = teacher_forced(ids)
    logits = model(v, inputs)
    return F.cross_entropy(logits.reshape(-1, model.V).float(), targets.reshape(-1))


@torch.no_grad()
def validation(model, groups, vectors, autocast):
    model.eval()
    total, count = 0.0, 0
    for n, (ids, rows) in groups.items():
        for i in range(0, len(ids), 2048):
            b = ids[i : i + 2048]
            with autocast():
                mean = loss_of(model, vectors[rows[i : i + 2048]], b).item()
            # loss_of is the mean over the batch's B * (n + 1) targets
            total += mean * b.shape[0] * (n + 1)
            count += b.shape[0] * (n + 1)
    model.train()
    return total / count if count else float("nan")


@torch.no_grad()
def greedy(model, v, max_tokens=32):
    """Greedy ids [B, <= max_tokens] (never ids 0, 3..5; </s> ends a row), for the end-of-run check."""
    B = v.shape[0]
    h = torch.tanh(model.cond(v))[None]
    token = torch.full((1, B), BOS, dtype=torch.long, device=v.device)
    out, done = [], torch.zeros(B, dtype=torch.bool, device=v.device)
    for _ in range(max_tokens + 1):
        x = torch.cat([model.embed(token), v[None]], -1)
        o, h = model.gru(x, h)
        logits = model.head(o[0]).float()
        logits[:, [0, 1, 3, 4, 5]] = -1e9
        token = logits.argmax(-1)[None]
        out.append(torch.where(done, torch.full_like(token[0], EOS), token[0]))
        done = done | (token[0] == EOS)
        if done.all():
            break
    return torch.stack(out, 1)


def read_int8_decoder(folder):
    """An INT8 decoder directory (src/decoder/model-int8-format.ts: `lvm quantize-decoder`, e.g. models/decoder/,
    which travels with the repository) dequantised to the flat float32 weights of model-format.ts's order and
    [in, out] layouts: W[i, o] = q[o, i] * scale[o]."""
    manifest = json.load(open(os.path.join(folder, "model.json")))
    raw = open(os.path.join(folder, "weights.bin"), "rb").read()
    spec = {t["name"]: t for t in manifest["tensors"]}

    def read(name):
        t = spec[name]
        dtype = np.int8 if t["dtype"] == "int8" else np.dtype("<f4")
        n = int(np.prod(t["shape"]))
        return np.frombuffer(raw, dtype=dtype, count=n, offset=t["offset"]).reshape(t["shape"]).astype(np.float32)

    rows = lambda name: read(name) * read(f"{name}.scale")[:, None]  # noqa: E731  [out, in]
    parts = [rows("embed.tokens"), rows("cond.w").T, read("cond.b"),
             np.concatenate([rows("gru.w_x.embed").T, rows("gru.w_x.vector").T], 0), read("gru.b_x"),
             rows("gru.w_h").T, read("gru.b_h"), rows("head.w").T, read("head.b")]
    return np.concatenate([a.reshape(-1) for a in parts])


def read_weights(folder):
    """The flat weights a run wrote (weights-N.bin parts; float32, or float16 when train-log.json says so), or
    those of an INT8 decoder directory."""
    if not os.path.exists(os.path.join(folder, "train-log.json")):
        return read_int8_decoder(folder)
    log = json.load(open(os.path.join(folder, "train-log.json")))
    blob = b"".join(open(os.path.join(folder, f"weights-{i}.bin"), "rb").read() for i in range(log["weights"]["parts"]))
    dtype = "<f2" if log["weights"].get("dtype") == "float16" else "<f4"
    return np.frombuffer(blob, dtype=dtype).astype(np.float32)


def load_weights(model, folder):
    """Reads the weights a run wrote (model-format.ts order and layouts) into `model`. A corrector (D = 1024) may
    start from a vector-only run (D = 512): its hypothesis half starts at zero, so it begins as that decoder."""
    flat = read_weights(folder)
    targets = {
        "embed.tokens": model.embed.weight, "cond.w": model.cond.weight, "cond.b": model.cond.bias,
        "gru.w_x": model.gru.weight_ih_l0, "gru.b_x": model.gru.bias_ih_l0, "gru.w_h": model.gru.weight_hh_l0,
        "gru.b_h": model.gru.bias_hh_l0, "head.w": model.head.weight, "head.b": model.head.bias,
    }
    shapes = [(name, a.shape) for name, a in model.tensors()]
    half = model.D == 1024 and flat.size != sum(int(np.prod(s)) for _, s in shapes)
    if half:  # the stored run's shapes: D = 512
        shapes = [(n, (512, s[1]) if n == "cond.w" else (s[0] - 512, s[1]) if n == "gru.w_x" else s) for n, s in shapes]
    if flat.size != sum(int(np.prod(s)) for _, s in shapes):
        raise SystemExit(f"{folder}: {flat.size} weights, this model has {sum(a.size for _, a in model.tensors())}")
    at = 0
    with torch.no_grad():
        for name, shape in shapes:
            n = int(np.prod(shape))
            value = torch.from_numpy(flat[at : at + n].reshape(shape).copy()).to(targets[name].device)
            at += n
            if half and name in ("cond.w", "gru.w_x"):
                # [in, out] rows: cond.w [e (512)] -> [e ; hypothesis]; gru.w_x [E ; e] -> [E ; e ; hypothesis]
                value = torch.cat([value, torch.zeros(512, value.shape[1], device=value.device)], 0)
            # model-format.ts matrices are [in, out]; torch keeps [out, in] (the embedding is [V, E] in both).
            targets[name].copy_(value.T if value.dim() == 2 and name != "embed.tokens" else value)


# ---- The corrector's hypotheses (vec2text's idea) -----------------------------------------------------------------


@torch.no_grad()
def generate(model, v, temperature=0.0, max_tokens=32, chunk=16384):
    """Hypotheses for conditioning rows v [B, D]: ids [B, max_tokens] (0 after the end) and lengths [B] (pieces
    before </s>). temperature 0: greedy; else sampled. Never ids 0, 1, 3..5, as decode.ts."""
    outs, lens = [], []
    for i in range(0, v.shape[0], chunk):
        c = v[i : i + chunk]
        B = c.shape[0]
        h = torch.tanh(model.cond(c))[None]
        token = torch.full((1, B), BOS, dtype=torch.long, device=c.device)
        ids = torch.zeros(B, max_tokens, dtype=torch.long, device=c.device)
        length = torch.full((B,), max_tokens, dtype=torch.long, device=c.device)
        done = torch.zeros(B, dtype=torch.bool, device=c.device)
        for t in range(max_tokens + 1):
            o, h = model.gru(torch.cat([model.embed(token), c[None]], -1), h)
            logits = model.head(o[0]).float()
            logits[:, [0, 1, 3, 4, 5]] = -1e9
            if t == max_tokens:
                break
            nxt = logits.argmax(-1) if temperature == 0 else torch.multinomial(torch.softmax(logits / temperature, -1), 1)[:, 0]
            ended = (nxt == EOS) & ~done
            length[ended] = t
            done |= nxt == EOS
            ids[:, t] = torch.where(done, torch.zeros_like(nxt), nxt)
            token = nxt[None]
            if done.all():
                break
        outs.append(ids)
        lens.append(length)
    return torch.cat(outs), torch.cat(lens)


def embed_hypotheses(use, ids, lengths, fallback, chunk=8192):
    """USE-lite vectors [B, 512] of generated ids; an empty hypothesis gets `fallback`'s row (the target itself)."""
    out = fallback.clone()
    for n in torch.unique(lengths).tolist():
        if n == 0:
            continue
        rows = torch.nonzero(lengths == n)[:, 0]
        for i in range(0, len(rows), chunk):
            r = rows[i : i + chunk]
            out[r] = use.embed(ids[r, :n])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--embed", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--validate-every", type=float, default=45, help="seconds")
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--max-tokens", type=int, default=32, help="longest generated text in the end-of-run check")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-sentences", type=int, default=0, help="0: all (a CPU smoke test takes a few)")
    ap.add_argument("--init", help="an earlier run's --out folder, or an INT8 decoder directory such as models/decoder "
                    "(same --embed, --hidden, --vocab): start from its weights")
    ap.add_argument("--corrector", action="store_true",
                    help="train on [target ; hypothesis embedding] (D = 1024): the hypothesis half is the target itself "
                    "(first decode) or the USE-lite vector of a text this model generated (refinement)")
    ap.add_argument("--corrector-share", type=float, default=0.5, help="share of training rows given a hypothesis")
    ap.add_argument("--refresh", type=float, default=0.5,
                    help="at this share of the time box, the greedy hypotheses are made again by the corrector itself")
    args = ap.parse_args()
    started = time.time()
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    os.makedirs(args.out, exist_ok=True)
    meta = json.load(open(os.path.join(args.data, "meta.json")))
    log = {"args": vars(args), "device": torch.cuda.get_device_name() if device == "cuda" else "cpu", "torch": torch.__version__}

    def write_log():
        with open(os.path.join(args.out, "train-log.json"), "w") as f:
            json.dump(log, f, indent=1)

    # Data and the USE-lite check.
    use = UseLite(args.data, meta, device)
    tl, tt, to = sentences(args.data, "train")
    vl, vt, vo = sentences(args.data, "val")
    # A sentence with an id past the decoder's vocabulary is dropped.
    bad = np.zeros(len(tl), dtype=bool)
    np.logical_or.at(bad, np.repeat(np.arange(len(tl)), tl), tt >= args.vocab)
    keep = ~bad
    train_rows = np.nonzero(keep)[0]
    if args.max_sentences:
        train_rows = train_rows[: args.max_sentences]
    val_groups_ids, val_where = by_length(vl, vt, vo)
    val_vectors = use.embed_groups(val_groups_ids, val_where, len(vl))
    checked = meta["val"]["vectors"]
    core = torch.from_numpy(read_gz(os.path.join(args.data, "val-vectors.f32.gz"), np.float32).copy()).view(checked, 512).to(device)
    cos = (val_vectors[:checked] * core).sum(-1)
    log["useLiteCheck"] = {"sentences": checked, "meanCos": cos.mean().item(), "minCos": cos.min().item()}
    print("USE-lite vs core INT8 vectors:", log["useLiteCheck"], flush=True)
    write_log()
    if cos.mean().item() < 0.98:
        raise SystemExit("this USE-lite disagrees with the core's vectors: stopping before training")

    t0 = time.time()
    train_groups, train_where = by_length(tl, tt, to, train_rows)
    train_vectors = use.embed_groups(train_groups, train_where, len(tl))
    if device == "cuda":
        torch.cuda.synchronize()
    log["embed"] = {"sentences": int(len(train_rows)), "tokens": int(tl[train_rows].sum()), "seconds": time.time() - t0}
    print("embedded", log["embed"], flush=True)
    val_groups = {n: (ids.to(device), torch.from_numpy(val_where[n]).to(device)) for n, ids in val_groups_ids.items()}
    train_groups = {n: ids.to(device) for n, ids in train_groups.items()}
    train_where = {n: torch.from_numpy(r).to(device) for n, r in train_where.items()}

    # Batches: one length per batch (no padding), lengths drawn in proportion to their sentence counts.
    lengths = np.array(sorted(train_groups))
    weights = np.array([len(train_groups[n]) for n in lengths], dtype=np.float64)
    weights /= weights.sum()

    model = Decoder(args.vocab, 1024 if args.corrector else 512, args.embed, args.hidden, args.dropout).to(device)
    if args.init:
        load_weights(model, args.init)
        log["init"] = args.init
    use_bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_bf16 else (lambda: torch.autocast("cpu", enabled=False))
    both = lambda e, h: torch.cat([e, h], -1)  # noqa: E731  the corrector's conditioning [target ; hypothesis]
    train_cond = lambda rows: train_vectors[rows]  # noqa: E731
    val_sets = {"valLoss": val_vectors}
    if args.corrector:
        # Hypotheses of the starting model, first-decode mode ([v ; v]): for validation one greedy text per sentence;
        # for training a sampled (temperature 0.8) and a greedy one per sentence, re-embedded on the GPU.
        t0 = time.time()
        rows_all = torch.from_numpy(train_rows).to(device)
        with autocast():
            ids, n = generate(model, both(val_vectors, val_vectors), 0.0, args.max_tokens)
        val_hyp = embed_hypotheses(use, ids, n, val_vectors)
        val_sets = {"valLossFirst": both(val_vectors, val_vectors), "valLossCorrector": both(val_vectors, val_hyp)}
        bank = torch.zeros(2, len(tl), 512, dtype=torch.float16, device=device)
        e = train_vectors[rows_all]
        for slot, temperature in ((0, 0.8), (1, 0.0)):
            with autocast():
                ids, n = generate(model, both(e, e), temperature, args.max_tokens)
            bank[slot, rows_all] = embed_hypotheses(use, ids, n, e).half()
        cos = lambda a, b: (a.float() * b.float()).sum(-1).mean().item()  # noqa: E731
        log["hypotheses"] = {"seconds": time.time() - t0, "valGreedyCos": cos(val_hyp, val_vectors),
                             "trainSampledCos": cos(bank[0, rows_all], e), "trainGreedyCos": cos(bank[1, rows_all], e)}
        print("hypotheses", log["hypotheses"], flush=True)
        del e

        def train_cond(rows):  # noqa: F811
            e = train_vectors[rows]
            slot = torch.randint(0, 2, (len(rows),), device=device)
            give = (torch.rand(len(rows), device=device) < args.corrector_share)[:, None]
            return both(e, torch.where(give, bank[slot, rows].float(), e))
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0, betas=(0.9, 0.98))
    if use_bf16:
        # cuDNN's GRU under bf16 autocast is checked once; float32 (TF32) if this build refuses it.
        try:
            with autocast():
                loss_of(model, train_cond(train_where[lengths[0]][:8]), train_groups[lengths[0]][:8]).backward()
            model.zero_grad(set_to_none=True)
        except Exception as error:  # noqa: BLE001
            print("bf16 autocast refused, float32 instead:", error, flush=True)
            use_bf16 = False
            autocast = lambda: torch.autocast("cpu", enabled=False)  # noqa: E731
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    log.update({"parameters": params, "bf16": use_bf16, "history": []})
    budget = args.seconds
    train_start = time.time()
    step, tokens, best = 0, 0, float("inf")
    last_val = train_start
    warmup = 200
    refreshed = not args.corrector

    def save(tag):
        blob = b"".join(np.ascontiguousarray(a, dtype="<f4").tobytes() for _, a in model.tensors())
        for f in os.listdir(args.out):
            if f.startswith("weights-"):
                os.remove(os.path.join(args.out, f))
        parts = [blob[i : i + PART_BYTES] for i in range(0, len(blob), PART_BYTES)]
        for i, p in enumerate(parts):
            with open(os.path.join(args.out, f"weights-{i}.bin"), "wb") as f:
                f.write(p)
        log["weights"] = {"bytes": len(blob), "parts": len(parts), "saved": tag, "tensors": [[n, list(a.shape)] for n, a in model.tensors()]}

    while True:
        elapsed = time.time() - train_start
        if elapsed >= budget:
            break
        # Linear warm-up, then cosine decay to 5% over the time box (time, not steps: the box is what is fixed).
        frac = min(1.0, elapsed / budget)
        if not refreshed and frac >= args.refresh:
            # Second-round hypotheses: the corrector's own greedy text given the sampled one, as refinement's later
            # steps see them (the time counts against the box).
            refreshed, t0 = True, time.time()
            e = train_vectors[rows_all]
            with autocast():
                ids, n = generate(model, both(e, bank[0, rows_all].float()), 0.0, args.max_tokens)
            bank[1, rows_all] = embed_hypotheses(use, ids, n, e).half()
            log["hypotheses"]["refresh"] = {"atSeconds": elapsed, "seconds": time.time() - t0, "trainCos": cos(bank[1, rows_all], e)}
            print("refreshed", log["hypotheses"]["refresh"], flush=True)
            del e
        lr = args.lr * min(1.0, (step + 1) / warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        n = int(rng.choice(lengths, p=weights))
        group = train_groups[n]
        pick = torch.randint(0, len(group), (min(args.batch, len(group)),), device=device)
        ids = group[pick]
        v = train_cond(train_where[n][pick])
        with autocast():
            loss = loss_of(model, v, ids)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        step += 1
        tokens += ids.numel() + ids.shape[0]
        now = time.time()
        if now - last_val >= args.validate_every or now - train_start >= budget:
            last_val = now
            losses = {k: validation(model, val_groups, x, autocast) for k, x in val_sets.items()}
            vloss = float(np.mean(list(losses.values())))  # the corrector: the mean of its two roles
            entry = {"step": step, "seconds": round(now - train_start, 1), "trainLoss": loss.item(), "valLoss": vloss, **losses, "lr": lr, "tokens": tokens}
            log["history"].append(entry)
            print(entry, flush=True)
            if vloss < best:
                best = vloss
                save(f"step {step}")
            write_log()

    train_seconds = time.time() - train_start
    losses = {k: validation(model, val_groups, x, autocast) for k, x in val_sets.items()}
    vloss = float(np.mean(list(losses.values())))
    log["history"].append({"step": step, "seconds": round(train_seconds, 1), "valLoss": vloss, **losses, "tokens": tokens})
    if vloss < best:
        best = vloss
        save(f"step {step}")
    log.update({"steps": step, "targetTokens": tokens, "trainSeconds": train_seconds, "tokensPerSecond": tokens / train_seconds, "bestValLoss": best})

    # End-of-run check with the saved (best) weights: greedy decode of validation vectors, re-embedded.
    write_log()
    load_weights(model, args.out)
    model.eval()
    # Parity check for import-weights.ts: float32 teacher-forced logits of validation sentence 0 on its vector,
    # which the TypeScript reference recomputes from the imported weights. check-logits.bin: [D] vector, [T, V] logits
    # (the corrector's: [target ; greedy hypothesis]).
    with torch.no_grad(), torch.autocast("cuda" if device == "cuda" else "cpu", enabled=False):
        ids0 = torch.from_numpy(vt[vo[0] : vo[1]].copy())[None].to(device)
        inputs0, _ = teacher_forced(ids0)
        check_vector = val_sets["valLossCorrector"][:1] if args.corrector else val_vectors[:1]
        logits0 = model(check_vector, inputs0)[:, 0].float()
    with open(os.path.join(args.out, "check-logits.bin"), "wb") as f:
        f.write(check_vector[0].float().cpu().numpy().astype("<f4").tobytes() + logits0.cpu().numpy().astype("<f4").tobytes())
    log["check"] = {"file": "check-logits.bin", "inputs": inputs0[:, 0].tolist(), "vocab": args.vocab}
    sample = torch.arange(0, len(vl), max(1, len(vl) // 500), device=device)[:500]
    if args.corrector:
        # Greedy first decode, then two corrector rounds on the best text so far (by cosine), as refine.ts does.
        e = val_vectors[sample]
        ids, n = generate(model, both(e, e), 0.0, args.max_tokens)
        best = embed_hypotheses(use, ids, n, e)
        rounds = [(best * e).sum(-1)]
        for _ in range(2):
            ids, n = generate(model, both(e, best), 0.0, args.max_tokens)
            h = embed_hypotheses(use, ids, n, e)
            c = (h * e).sum(-1)
            rounds.append(torch.maximum(rounds[-1], c))
            best = torch.where((c >= rounds[-2])[:, None], h, best)
        log["correctorCheck"] = {"sentences": len(sample), "meanCosByRound": [r.mean().item() for r in rounds]}
        print("corrector check:", log["correctorCheck"], flush=True)
        log["seconds"] = time.time() - started
        write_log()
        return
    out = greedy(model, val_vectors[sample], args.max_tokens)
    cosines, exact = [], 0
    for i in range(out.shape[0]):
        ids = out[i].tolist()
        ids = ids[: ids.index(EOS)] if EOS in ids else ids
        ids = [t for t in ids if t >= 6] or [6]
        e = use.embed(torch.tensor([ids]))
        cosines.append((e[0] * val_vectors[sample[i]]).sum().item())
        r = int(sample[i])
        exact += ids == vt[vo[r] : vo[r + 1]].tolist()
    log["greedyCheck"] = {"sentences": len(cosines), "meanCos": float(np.mean(cosines)), "exact": exact / len(cosines)}
    print("greedy check:", log["greedyCheck"], flush=True)
    log["seconds"] = time.time() - started
    write_log()


if __name__ == "__main__":
    main()
