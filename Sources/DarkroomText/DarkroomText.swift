// DarkroomText: prompts to token ids. SentencePiece unigram models read from their `.model` protobuf, segmented exactly
// as the sentencepiece library does (`SentencePieceProcessor`), and T5's tokenizer exactly as transformers 5 runs it on
// the same file (`T5Tokenizer`), which is what DeepFloyd IF's pipeline feeds its text encoder.
