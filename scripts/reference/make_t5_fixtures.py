"""Fixtures for T5 encoder parity: small random T5EncoderModels made by transformers, prompts, and their outputs.

Run from the repository root after make_tokenizer_fixtures.py:  python3 scripts/reference/make_t5_fixtures.py
Writes Tests/DarkroomModelsTests/Fixtures/t5_<name>/ laid out as a DeepFloyd IF folder's text side:
- tokenizer/spiece.model (the nfkc model of the tokenizer fixtures; transformers adds 100 extra ids);
- text_encoder/config.json and the weights, as `save_pretrained` writes them: one file or shards with an index, fp32,
  or the fp16 / bf16 variant (`model.fp16.safetensors`, ...);
- io.safetensors: `ids` and `mask` [P, 77] (int64) as the IF pipeline tokenizes the prompts (lowercased, stripped,
  padded to 77) and `out` [P, 77, d_model], the fp32 last_hidden_state of the stored weights (16-bit weights widened);
  the prompts are in the metadata as JSON.
"""
import json
import os
import shutil

import torch
from safetensors.torch import save_file
from transformers import T5Config, T5EncoderModel, T5Tokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "DarkroomModelsTests", "Fixtures")
SPM = os.path.join(ROOT, "Tests", "DarkroomTextTests", "Fixtures", "spm_nfkc.model")

PROMPTS = ["", "a photo of a dog", "  An Oil Painting of a Snowy Mountain Village  ", "a rocket ship <extra_id_3> ﬁne",
           " ".join(["a lithograph of waterfalls over a skull"] * 14)]

# name: (d_model, d_kv, heads, d_ff, layers, buckets, max_distance, dtype, shard size or None)
CASES = {
    # d_model 24 pairs with the IF fixture if_a (encoder_hid_dim 24) for the end-to-end job test; fp32, one file.
    "t5_a": (24, 8, 3, 40, 2, 32, 128, torch.float32, None),
    # Few buckets and a short max distance, so the logarithmic buckets are used within 77 tokens; fp32 shards.
    "t5_b": (48, 16, 3, 80, 3, 16, 20, torch.float32, "60KB"),
    # Inner width (heads × d_kv) unlike d_model; the fp16 variant.
    "t5_c": (32, 4, 6, 64, 2, 32, 128, torch.float16, None),
    # bf16 variant in shards.
    "t5_d": (40, 8, 5, 72, 2, 32, 128, torch.bfloat16, "40KB"),
}


def main():
    torch.manual_seed(12)
    for name, (d, dkv, heads, dff, layers, buckets, distance, dtype, shard) in CASES.items():
        folder = os.path.join(OUT, name)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(os.path.join(folder, "tokenizer"))
        shutil.copy(SPM, os.path.join(folder, "tokenizer", "spiece.model"))
        tokenizer = T5Tokenizer.from_pretrained(os.path.join(folder, "tokenizer"))
        tokenizer.save_pretrained(os.path.join(folder, "tokenizer"))
        os.remove(os.path.join(folder, "tokenizer", "tokenizer.json"))   # IF's folders hold spiece.model, not tokenizer.json
        vocab = len(tokenizer) + 28   # padded past the tokenizer, as T5's 32128 is past 32100
        config = T5Config(vocab_size=vocab, d_model=d, d_kv=dkv, num_heads=heads, d_ff=dff, num_layers=layers,
                          relative_attention_num_buckets=buckets, relative_attention_max_distance=distance,
                          feed_forward_proj="gated-gelu", dropout_rate=0.0)
        model = T5EncoderModel(config).eval()
        with torch.no_grad():
            # Larger position biases than the default init, so a wrong bucket shows.
            bias = model.encoder.block[0].layer[0].SelfAttention.relative_attention_bias.weight
            bias.copy_(torch.randn_like(bias) * 2)
        variant = {torch.float16: "fp16", torch.bfloat16: "bf16"}.get(dtype)
        stored = model.to(dtype)
        kwargs = {"max_shard_size": shard} if shard else {}
        stored.save_pretrained(os.path.join(folder, "text_encoder"), variant=variant, **kwargs)
        reference = stored.to(torch.float32)
        prompts = [p.lower().strip() for p in PROMPTS]
        batch = tokenizer(prompts, max_length=77, padding="max_length", truncation=True, add_special_tokens=True,
                          return_tensors="pt")
        with torch.no_grad():
            out = reference(batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
        save_file({"ids": batch.input_ids.to(torch.int64).contiguous(), "mask": batch.attention_mask.to(torch.int64).contiguous(),
                   "out": out.contiguous()}, os.path.join(folder, "io.safetensors"), metadata={"prompts": json.dumps(PROMPTS)})
        files = sorted(os.listdir(os.path.join(folder, "text_encoder")))
        print(f"{name}: d_model {d}, {layers} layers, {dtype}, files {files}, |out| max {out.abs().max():.3f}")


if __name__ == "__main__":
    main()
