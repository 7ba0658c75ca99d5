"""Fixtures for SentencePiece / T5Tokenizer parity: small unigram models trained here, test strings, reference ids.

Run from the repository root:  python3 scripts/reference/make_tokenizer_fixtures.py
Needs sentencepiece and transformers (T5Tokenizer). Writes Tests/DarkroomTextTests/Fixtures/:
- spm_<name>.model: unigram models trained on a generated corpus (nmt_nfkc; nmt_nfkc with byte fallback; identity);
- tokenizer_cases.json: {"strings": [...], "models": {name: {"spm": [[id, ...]], "t5": [[id, ...]]}}}
  "spm" is SentencePieceProcessor.encode(text); "t5" is T5Tokenizer(text, max_length=77, truncation=True) without
  padding (so at most 76 pieces and </s>), from the same .model file with transformers' 100 extra ids.
Everything is seeded: running it again gives the same files.
"""
import json
import os
import random
import shutil
import tempfile

import sentencepiece as spm
from transformers import T5Tokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "DarkroomTextTests", "Fixtures")

WORDS = ("a photo of the dog cat painting oil watercolor snowy mountain village man woman old young red blue green "
         "rocket ship skull waterfall campfire amalfi coast lithograph hipster barista pencil sketch portrait "
         "landscape city night street rain light shadow bright dark small large tree forest river sea beach sunset "
         "flower garden house castle bridge road car train horse bird fish robot astronaut moon star sky cloud "
         "café naïve résumé über straße façade jalapeño crème brûlée déjà vu smörgåsbord").split()
ACCENTED = "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿœšžłßÀÉÎÕÜÇ"
FULLWIDTH = "ＡＢＣＤＥＦａｂｃｄｅｆ０１２３４５！？（）　"
LIGATURES = "ﬁﬂﬀﬃﬄﬅﬆĲĳŉǄǅǆ№™℃℉½¼¾²³ⅠⅡⅢⅣ①②③"
CJK = "猫犬山水火日本語中文字東京大阪北京上海한국어서울ひらがなカタカナｶﾀｶﾅ"
EMOJI = ["😀", "🐶", "🚀", "🎨", "👍🏽", "👨‍👩‍👧", "🏳️‍🌈", "❤️", "🇫🇷", "✨", "🔥"]
ODD = ["\t", "\n", "\r\n", "\u00a0", "\u3000", "\u200b", "\u00ad", "\ufeff", "\u200e", "\u0301", "\u0308", "\x00",
       "\x01", "\x1b", "\x7f", "\u2028", "\ufffd", "\u2581", "  ", "   ", "…", "—", "–", "“", "”", "‘", "’", "«", "»",
       "<extra_id_0>", "<extra_id_99>", "<extra_id_42>", "</s>", "<unk>", "<pad>", "<s>", "< /s>", "<extra_id_100>"]
SCRIPTS = "العربيةहिन्दीΕλληνικάРусскийעבריתไทย"


def corpus(rng):
    """Lines to train on: mostly words, some accents, full-width forms, CJK (so some characters stay unknown)."""
    lines = []
    for _ in range(20000):
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 14))]
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words)), "".join(rng.choice(ACCENTED) for _ in range(rng.randint(1, 4))))
        if rng.random() < 0.1:
            words.append("".join(rng.choice(CJK) for _ in range(rng.randint(1, 3))))
        if rng.random() < 0.05:
            words.append("".join(rng.choice(FULLWIDTH) for _ in range(rng.randint(1, 3))))
        if rng.random() < 0.3:
            words[0] = words[0].capitalize()
        lines.append(" ".join(words) + rng.choice([".", "", ",", "!", "?"]))
    return lines


def piece(rng):
    r = rng.random()
    if r < 0.45:
        w = rng.choice(WORDS)
        return w.upper() if rng.random() < 0.1 else w.capitalize() if rng.random() < 0.2 else w
    if r < 0.55:
        return "".join(rng.choice(ACCENTED) for _ in range(rng.randint(1, 5)))
    if r < 0.62:
        return "".join(rng.choice(FULLWIDTH) for _ in range(rng.randint(1, 5)))
    if r < 0.68:
        return "".join(rng.choice(LIGATURES) for _ in range(rng.randint(1, 4)))
    if r < 0.75:
        return "".join(rng.choice(CJK) for _ in range(rng.randint(1, 6)))
    if r < 0.80:
        return "".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 3)))
    if r < 0.84:
        return "".join(rng.choice(SCRIPTS) for _ in range(rng.randint(1, 6)))
    if r < 0.88:
        return str(rng.randint(0, 10 ** rng.randint(1, 8)))
    if r < 0.92:
        return "".join(chr(rng.randint(0x20, 0x7e)) for _ in range(rng.randint(1, 6)))
    if r < 0.95:
        return "".join(chr(rng.randint(0xa0, 0x2fff)) for _ in range(rng.randint(1, 3)))
    return rng.choice(ODD)


def strings(rng, count):
    out = ["", " ", "   ", "\t\n", "a", "▁", "a photo of a dog", "  a  photo   of a dog  ", "A Photo Of A Dog",
           " ".join(["an oil painting of a snowy mountain village"] * 8)]
    while len(out) < count:
        n = rng.choice([1, 2, 3, 5, 8, 12, 20]) if rng.random() < 0.93 else rng.randint(60, 140)
        parts = []
        for _ in range(n):
            parts.append(piece(rng))
            parts.append(rng.choice([" ", " ", " ", " ", "", "  ", "\t", "\n", "\u3000", "\u00a0"]))
        s = "".join(parts)
        if rng.random() < 0.2:
            s = rng.choice([" ", "  ", "\t", "\n "]) + s
        if rng.random() < 0.3:
            s = s.strip()
        out.append(s)
    return out


def train(name, lines, **options):
    work = tempfile.mkdtemp()
    try:
        text = os.path.join(work, "corpus.txt")
        with open(text, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
        prefix = os.path.join(work, name)
        spm.SentencePieceTrainer.train(input=text, model_prefix=prefix, model_type="unigram", vocab_size=800,
                                       character_coverage=0.995, pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                                       num_threads=2, minloglevel=2, **options)
        shutil.copy(prefix + ".model", os.path.join(OUT, f"spm_{name}.model"))
    finally:
        shutil.rmtree(work)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = random.Random(180)
    lines = corpus(rng)
    models = {
        "nfkc": {},
        "bytes": {"byte_fallback": True},
        "identity": {"normalization_rule_name": "identity"},
    }
    for name, options in models.items():
        train(name, lines, **options)
    cases = strings(random.Random(5), 5000)
    result = {"strings": cases, "models": {}}
    for name in models:
        path = os.path.join(OUT, f"spm_{name}.model")
        sp = spm.SentencePieceProcessor(model_file=path)
        folder = tempfile.mkdtemp()
        shutil.copy(path, os.path.join(folder, "spiece.model"))
        t5 = T5Tokenizer.from_pretrained(folder, extra_ids=100)
        shutil.rmtree(folder)
        assert len(t5) == sp.get_piece_size() + 100, len(t5)
        spm_ids = [sp.encode(s) for s in cases]
        t5_ids = [t5(s, max_length=77, truncation=True, add_special_tokens=True)["input_ids"] for s in cases]
        differ = sum(1 for a, b in zip(spm_ids, t5_ids) if a[:76] + [1] != b)
        print(f"{name}: {sp.get_piece_size()} pieces; T5Tokenizer differs from sentencepiece (+</s>, truncated) on {differ} strings")
        result["models"][name] = {"spm": spm_ids, "t5": t5_ids}
    with open(os.path.join(OUT, "tokenizer_cases.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=True, separators=(",", ":"))
    print(f"wrote {len(cases)} strings to {OUT}")


if __name__ == "__main__":
    main()
