"""Checks `darkroom encode` against transformers on a fresh random T5 encoder (not one of the test fixtures).

Usage (from the repository root, after `swift build -c release`):
    python3 scripts/reference/check_t5_encode.py [--d-model 64] [--heads 4] [--d-kv 16] [--d-ff 96] [--layers 3]
                                                 [--dtype fp32|fp16|bf16] [--shard 100KB] [--seed 0]

Makes tokenizer/ (the tokenizer fixture's nfkc model) and text_encoder/ (transformers' T5EncoderModel, random
weights, saved in the given dtype, sharded when --shard is given) in a temporary folder, encodes a few prompts with
transformers (fp32 arithmetic on the stored weights) and with `darkroom encode`, and prints the largest difference
relative to the output's largest magnitude. Exits non-zero above 1e-4.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file
from transformers import T5Config, T5EncoderModel, T5Tokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPM = os.path.join(ROOT, "Tests", "DarkroomTextTests", "Fixtures", "spm_nfkc.model")
PROMPTS = ["a photo of a dog", "An Oil Painting of a Snowy Mountain Village", "ﬁne CAFÉ  <extra_id_7> 東京",
           " ".join(["a rocket ship over the amalfi coast"] * 12)]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--d-kv", type=int, default=16)
    p.add_argument("--d-ff", type=int, default=96)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--buckets", type=int, default=32)
    p.add_argument("--max-distance", type=int, default=128)
    p.add_argument("--dtype", choices=["fp32", "fp16", "bf16"], default="bf16")
    p.add_argument("--shard", default=None, help="max shard size, e.g. 100KB")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    folder = tempfile.mkdtemp(prefix="darkroom-t5-check-")
    try:
        os.makedirs(os.path.join(folder, "tokenizer"))
        shutil.copy(SPM, os.path.join(folder, "tokenizer", "spiece.model"))
        tokenizer = T5Tokenizer.from_pretrained(os.path.join(folder, "tokenizer"))
        config = T5Config(vocab_size=len(tokenizer) + 28, d_model=args.d_model, d_kv=args.d_kv, num_heads=args.heads,
                          d_ff=args.d_ff, num_layers=args.layers, relative_attention_num_buckets=args.buckets,
                          relative_attention_max_distance=args.max_distance, feed_forward_proj="gated-gelu", dropout_rate=0.0)
        dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
        stored = T5EncoderModel(config).eval().to(dtype)
        stored.save_pretrained(os.path.join(folder, "text_encoder"), variant=None if args.dtype == "fp32" else args.dtype,
                               **({"max_shard_size": args.shard} if args.shard else {}))
        reference = stored.to(torch.float32)
        prompts = [p.lower().strip() for p in PROMPTS]
        batch = tokenizer(prompts, max_length=77, padding="max_length", truncation=True, return_tensors="pt")
        with torch.no_grad():
            expected = reference(batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
        out = os.path.join(folder, "ours.safetensors")
        subprocess.run([os.path.join(ROOT, ".build", "release", "darkroom"), "encode", "--model", folder, "--output", out, *PROMPTS],
                       check=True)
        ours = load_file(out)
        scale = expected.abs().max().item()
        worst = max((ours[p] - expected[i]).abs().max().item() for i, p in enumerate(prompts))
        print(f"{args.layers} blocks, d_model {args.d_model}, {args.heads} heads × {args.d_kv}, {args.dtype}"
              f"{', sharded' if args.shard else ''}: max |darkroom − transformers| = {worst:.2e}, relative {worst / scale:.2e}")
        sys.exit(0 if worst <= 1e-4 * scale else 1)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
