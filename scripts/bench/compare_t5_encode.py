"""DeepFloyd IF's T5 v1.1 XXL text encoder: Darkroom beside transformers (PyTorch CPU) on one 77-token prompt.

Usage (from the repository root, after `swift build -c release`):
    python3 scripts/bench/compare_t5_encode.py [--layers 4] [--threads 2] [--cache DIR]
    python3 scripts/bench/compare_t5_encode.py --layers 24 --darkroom-only     # the whole encoder: memory check

The encoder has XXL's real widths (d_model 4096, 64 heads × 64, d_ff 10240, vocab 32128) and --layers blocks of
random weights (T5's initialisation scales), written straight to a bf16 safetensors file in shards as
transformers saves them (24 blocks: 9.5 GB; numpy writes it without holding it in memory). The tokenizer is the
test fixture's small SentencePiece model. transformers loads the bf16 weights as fp32 (as the measurements in the
issue did) and Darkroom keeps them in bf16, each in its own process, so each peak RSS is its own. Prints both
median times, the ratio (Darkroom / PyTorch: below 1 means Darkroom is faster), both peak RSS figures, the
extrapolation to 24 blocks, Darkroom's time by part, and the largest difference between the two outputs.
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SPM = os.path.join(ROOT, "Tests", "DarkroomTextTests", "Fixtures", "spm_nfkc.model")
PROMPT = ", ".join(["an oil painting of a snowy mountain village at dawn"] * 12)   # as T5Bench: all 77 tokens
D, HEADS, DKV, DFF, VOCAB = 4096, 64, 64, 10240, 32128


def tensors(layers):
    """(name, shape, std) of every tensor, in the order transformers names them."""
    yield "shared.weight", (VOCAB, D), 1.0
    for i in range(layers):
        a, f = f"encoder.block.{i}.layer.0.", f"encoder.block.{i}.layer.1."
        yield a + "SelfAttention.q.weight", (HEADS * DKV, D), (D * DKV) ** -0.5
        yield a + "SelfAttention.k.weight", (HEADS * DKV, D), D ** -0.5
        yield a + "SelfAttention.v.weight", (HEADS * DKV, D), D ** -0.5
        yield a + "SelfAttention.o.weight", (D, HEADS * DKV), (HEADS * DKV) ** -0.5
        if i == 0:
            yield a + "SelfAttention.relative_attention_bias.weight", (32, HEADS), D ** -0.5
        yield a + "layer_norm.weight", (D,), None
        yield f + "DenseReluDense.wi_0.weight", (DFF, D), D ** -0.5
        yield f + "DenseReluDense.wi_1.weight", (DFF, D), D ** -0.5
        yield f + "DenseReluDense.wo.weight", (D, DFF), DFF ** -0.5
        yield f + "layer_norm.weight", (D,), None
    yield "encoder.final_layer_norm.weight", (D,), None


def write_model(folder, layers, shard_bytes=2 << 30):
    """Writes tokenizer/ and text_encoder/ (config.json, bf16 shards, index) without holding the weights."""
    from transformers import T5Config
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(os.path.join(folder, "tokenizer"))
    shutil.copy(SPM, os.path.join(folder, "tokenizer", "spiece.model"))
    encoder = os.path.join(folder, "text_encoder")
    os.makedirs(encoder)
    T5Config(vocab_size=VOCAB, d_model=D, d_kv=DKV, num_heads=HEADS, d_ff=DFF, num_layers=layers,
             feed_forward_proj="gated-gelu", tie_word_embeddings=False,
             architectures=["T5EncoderModel"]).to_json_file(os.path.join(encoder, "config.json"))
    shards, current, size = [], [], 0
    for name, shape, std in tensors(layers):
        nbytes = 2 * int(np.prod(shape))
        if current and size + nbytes > shard_bytes:
            shards.append(current)
            current, size = [], 0
        current.append((name, shape, std))
        size += nbytes
    shards.append(current)
    rng = np.random.default_rng(5)
    weight_map = {}
    for k, shard in enumerate(shards):
        file = f"model-{k + 1:05d}-of-{len(shards):05d}.safetensors"
        header, offset = {"__metadata__": {"format": "pt"}}, 0
        for name, shape, _ in shard:
            n = 2 * int(np.prod(shape))
            header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + n]}
            offset += n
            weight_map[name] = file
        text = json.dumps(header).encode()
        text += b" " * (-len(text) % 8)
        with open(os.path.join(encoder, file), "wb") as f:
            f.write(len(text).to_bytes(8, "little"))
            f.write(text)
            for name, shape, std in shard:
                count = int(np.prod(shape))
                for start in range(0, count, 1 << 26):
                    n = min(1 << 26, count - start)
                    values = np.ones(n, np.float32) if std is None else rng.standard_normal(n, dtype=np.float32) * np.float32(std)
                    f.write((values.view(np.uint32) >> 16).astype(np.uint16).tobytes())
    with open(os.path.join(encoder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": sum(2 * int(np.prod(s)) for _, s, _ in tensors(layers))}, "weight_map": weight_map}, f)


def torch_run(args):
    """In its own process: load as fp32, time encodes, print JSON."""
    import torch
    from transformers import T5EncoderModel, T5Tokenizer
    torch.set_num_threads(args.threads)
    tokenizer = T5Tokenizer.from_pretrained(os.path.join(args.cache, "tokenizer"))
    model = T5EncoderModel.from_pretrained(os.path.join(args.cache, "text_encoder"), torch_dtype=torch.float32).eval()
    batch = tokenizer([PROMPT.lower().strip()], max_length=77, padding="max_length", truncation=True, return_tensors="pt")
    times = []
    with torch.no_grad():
        out = model(batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
        deadline = time.time() + args.seconds
        while len(times) < 2 or (time.time() < deadline and len(times) < 20):
            start = time.perf_counter()
            out = model(batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
            times.append(time.perf_counter() - start)
    np.save(os.path.join(args.cache, "torch_out.npy"), out[0].numpy())
    times.sort()
    print(json.dumps({"median_seconds": times[len(times) // 2], "min_seconds": times[0], "runs": len(times),
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


def darkroom(args, *arguments):
    binary = os.path.join(ROOT, ".build", "release", "darkroom")
    return subprocess.run([binary, *arguments], check=True, capture_output=True, text=True).stdout


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--cache", default=None, help="folder for the synthetic encoder (default /tmp/darkroom-t5-bench-L)")
    p.add_argument("--darkroom-only", action="store_true", help="skip PyTorch (for --layers 24: it needs 19 GB in fp32)")
    p.add_argument("--torch-run", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.cache = args.cache or f"/tmp/darkroom-t5-bench-{args.layers}"
    if args.torch_run:
        return torch_run(args)
    if not os.path.exists(os.path.join(args.cache, "text_encoder", "model.safetensors.index.json")):
        start = time.time()
        write_model(args.cache, args.layers)
        print(f"wrote a T5-XXL-shaped encoder with {args.layers} blocks (bf16) to {args.cache} in {time.time() - start:.0f} s", flush=True)
    ours = json.loads(darkroom(args, "bench", "--model", args.cache, "--json", "--threads", str(args.threads), "--seconds", str(args.seconds)))
    print(f"Darkroom: {args.layers} blocks, 77 tokens, {args.threads} threads: median {ours['median_seconds']:.3f} s "
          f"(best {ours['min_seconds']:.3f} s, first {ours['first_seconds']:.3f} s), {ours['gflop_per_s']:.0f} GFLOP/s, "
          f"peak RSS {ours['peak_rss_bytes'] / 1e9:.2f} GB")
    for part, seconds in sorted(ours["parts"].items(), key=lambda kv: -kv[1]):
        print(f"  {part:16s} {seconds:.3f} s per encode ({100 * seconds / ours['median_seconds']:.0f}%)")
    per_block = ours["median_seconds"] / args.layers
    print(f"  extrapolated to 24 blocks: {24 * per_block:.2f} s per prompt")
    if args.darkroom_only:
        return
    theirs = json.loads(subprocess.run([sys.executable, __file__, "--torch-run", "--layers", str(args.layers), "--cache", args.cache,
                                        "--threads", str(args.threads), "--seconds", str(args.seconds)],
                                       check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    print(f"PyTorch (transformers, fp32): median {theirs['median_seconds']:.3f} s (best {theirs['min_seconds']:.3f} s), "
          f"peak RSS {theirs['peak_rss_bytes'] / 1e9:.2f} GB; extrapolated to 24 blocks: {24 * theirs['median_seconds'] / args.layers:.2f} s")
    print(f"ratio Darkroom / PyTorch: {ours['median_seconds'] / theirs['median_seconds']:.2f}x time, "
          f"{ours['peak_rss_bytes'] / theirs['peak_rss_bytes']:.2f}x peak RSS")
    out = os.path.join(args.cache, "darkroom_out.safetensors")
    darkroom(args, "encode", "--model", args.cache, "--output", out, "--threads", str(args.threads), PROMPT)
    from safetensors.numpy import load_file
    mine = load_file(out)[PROMPT.lower().strip()]
    reference = np.load(os.path.join(args.cache, "torch_out.npy"))
    print(f"outputs: max |Darkroom - PyTorch| = {np.abs(mine - reference).max():.2e} (largest |value| {np.abs(reference).max():.2f})")


if __name__ == "__main__":
    main()
