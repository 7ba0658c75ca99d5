"""Makes a DeepFloyd IF prompt-embedding file for Darkroom: T5 v1.1 XXL outputs [77, 4096] by prompt.

Needs Python with torch, transformers, sentencepiece and safetensors, and the T5 weights on disk (for example the
`text_encoder/` and `tokenizer/` folders of a diffusers IF-I-XL-v1.0 download). Darkroom itself never runs this:
`darkroom encode` writes the same file without Python, and jobs encode new prompts themselves when the IF folder
holds those two folders.

    python3 scripts/make_prompt_embeddings.py --t5 /path/to/IF-I-XL-v1.0 --out models/if/prompt_embeddings.safetensors \
        "a photo of a dog" "an oil painting of a snowy mountain village"
    python3 scripts/make_prompt_embeddings.py --t5 /path/to/IF-I-XL-v1.0 --out FILE --append "a rocket ship"

Each tensor is named by its prompt as the IF pipeline's `encode_prompt` prepares it (lowercased, stripped; no caption
cleaning) and holds the whole last_hidden_state, padding rows included, as float32. The unconditional embedding ""
is always included. The file's metadata names the encoder, which Darkroom uses with the prompt as the cache key.
"""
import argparse
import os

import torch
from safetensors.torch import load_file, save_file


def load_encoder(folder, dtype):
    from transformers import T5EncoderModel, T5Tokenizer

    text = os.path.join(folder, "text_encoder") if os.path.isdir(os.path.join(folder, "text_encoder")) else folder
    tok = os.path.join(folder, "tokenizer") if os.path.isdir(os.path.join(folder, "tokenizer")) else folder
    return T5Tokenizer.from_pretrained(tok), T5EncoderModel.from_pretrained(text, torch_dtype=dtype).eval()


def embed(tokenizer, encoder, prompts):
    batch = tokenizer([p.lower().strip() for p in prompts], max_length=77, padding="max_length", truncation=True,
                      add_special_tokens=True, return_tensors="pt")
    with torch.no_grad():
        out = encoder(batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
    return out.float()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("prompts", nargs="*")
    p.add_argument("--t5", required=True, help="folder holding text_encoder/ and tokenizer/ (or the T5 model itself)")
    p.add_argument("--out", required=True)
    p.add_argument("--append", nargs="*", default=[], help="prompts to add to an existing --out file")
    p.add_argument("--prompt-file", help="a text file with one prompt per line")
    p.add_argument("--encoder-name", default="t5-v1_1-xxl", help="stored in the metadata; Darkroom's cache key")
    p.add_argument("--fp16", action="store_true", help="run T5 in float16 (outputs are still stored as float32)")
    args = p.parse_args()

    prompts = list(args.prompts) + list(args.append)
    if args.prompt_file:
        with open(args.prompt_file) as f:
            prompts += [line.strip() for line in f if line.strip()]
    existing = load_file(args.out) if args.append and os.path.exists(args.out) else {}
    wanted = [""] + [q.lower().strip() for q in prompts]
    todo = list(dict.fromkeys(q for q in wanted if q not in existing))
    if not todo:
        print(f"{args.out}: every prompt is already there ({len(existing)} embeddings)")
        return
    tokenizer, encoder = load_encoder(args.t5, torch.float16 if args.fp16 else torch.float32)
    tensors = dict(existing)
    for i in range(0, len(todo), 8):
        chunk = todo[i:i + 8]
        for name, e in zip(chunk, embed(tokenizer, encoder, chunk)):
            tensors[name] = e.contiguous()
        print(f"embedded {min(i + 8, len(todo))}/{len(todo)}", flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save_file(tensors, args.out, metadata={"encoder": args.encoder_name})
    print(f"wrote {args.out}: {len(tensors)} embeddings ({', '.join(repr(k) for k in sorted(tensors))})")


if __name__ == "__main__":
    main()
