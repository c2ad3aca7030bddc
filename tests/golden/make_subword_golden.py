#!/usr/bin/env python3
"""Train two small subword tokenizers (RoBERTa byte-level BPE, XLM-R sentencepiece unigram) and write their golden ids.

Why: the C++ engine implements RoBERTa's byte-level BPE and XLM-R's sentencepiece unigram
tokenizer itself. Real checkpoints cannot be downloaded here, so this script trains a small
tokenizer of each kind, deterministically, on the training texts of data/, saves it as the
family's tokenizer directory (what `save_pretrained` writes), and records the ids of Hugging
Face's SLOW tokenizers (the pure-Python reference) for every data text and for hard cases.
The FAST tokenizers (Rust `tokenizers`, from tokenizer.json) are run too; every slow/fast
disagreement is printed and counted, and the SLOW ids are recorded.

Usage (from the repository root):
    python tests/golden/make_subword_golden.py --data-dir data --out-dir tests/golden/tokenizers

Training texts: the part after the first TAB of every line of data/fine_foods/train.tsv and
data/spam_assassin/train.tsv (7139 texts), in that order.

  roberta/      byte-level BPE, HF `tokenizers` models.BPE + trainers.BpeTrainer with the
                ByteLevel pre-tokenizer (add_prefix_space=False, GPT-2 regex), vocab_size 1000:
                <s>=0 <pad>=1 </s>=2 <unk>=3 <mask>=4, then the 256 byte symbols (in code
                point order of their GPT-2 byte-to-unicode characters), then 739 merges.
                Saved by RobertaTokenizer(vocab.json, merges.txt).save_pretrained (vocab.json,
                merges.txt, tokenizer_config.json, special_tokens_map.json), then
                RobertaTokenizerFast converted from it .save_pretrained(legacy_format=False)
                (tokenizer.json; rewrites tokenizer_config.json/special_tokens_map.json).
                <mask> has lstrip=True, as in RoBERTa.
  xlm-roberta/  sentencepiece unigram (python `sentencepiece`), vocab_size 1000, nmt_nfkc,
                character_coverage 1.0, unk 0, bos 1, eos 2, no pad, one thread, no shuffling,
                random generator seed fixed: sentencepiece.bpe.model. Then
                XLMRobertaTokenizer(vocab_file).save_pretrained and the fast tokenizer
                converted from it (XLMRobertaTokenizerFast(vocab_file)) .save_pretrained
                (tokenizer.json). Ids use XLM-R's fairseq mapping: <s>=0 <pad>=1 </s>=2
                <unk>=3, sentencepiece piece p (p >= 3) -> p + 1, <mask> = spm size + 1 (1001);
                len(tokenizer) = 1002.

Outputs per tokenizer T, in OUT_DIR/T/ (JSON Lines, UTF-8, one object per line):
  data_ids.jsonl   {"file": "fine_foods/train.tsv", "line": N (1-based), "n": number of ids,
                   "fnv1a64": "<16 hex>"} for EVERY line of fine_foods/{train,dev,test}.tsv and
                   spam_assassin/{train,dev,test}.tsv, in that order; the first 50 records of
                   each file also carry "ids". fnv1a64 = 64-bit FNV-1a (offset
                   0xcbf29ce484222325, prime 0x100000001b3) over the ids as little-endian int32.
  hard_cases.jsonl {"name", "text", "ids"} for make_tokenizer_golden.HARD_CASES plus the
                   subword cases below; then the invalid-UTF-8 cases as {"name", "bytes_hex",
                   "text", "ids"}, where text is bytes_hex decoded by the engine's rule: every
                   byte that is not part of a well-formed UTF-8 sequence becomes U+FFFD (one
                   per byte; NOT Python's errors="replace", which replaces maximal subparts).
  hard_cases_max_length.jsonl   {"name", "ids"}: the same texts, max_length=16.

ids = slow tokenizer(text, add_special_tokens=True, truncation=True, max_length=512)
["input_ids"] (<s> ... </s>). Text is written by make_tokenizer_golden.dump_line (raw UTF-8,
JSON escapes, plus U+0085/U+2028/U+2029 escaped).

Checks: the vocabulary layout and the fairseq mapping; reading every file back (and the
saved directory loaded with from_pretrained gives the recorded ids); that exactly the long
cases hit 512; and that spm_reference_encode (sentencepiece's Viterbi with its exact
tie-breaking, see there) reproduces sentencepiece on every slow/fast disagreement, the first
50 texts of each file and all hard cases. Slow/fast disagreements are classified: "tie" =
the same ids in another order (an equal-score unigram segmentation), "other" otherwise.
"""
import argparse
import hashlib
import io
import json
import os
import shutil
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_tokenizer_golden import HARD_CASES, describe_diff, dump_line, read_tsv_texts  # noqa: E402

import google.protobuf  # noqa: E402
import numpy as np  # noqa: E402
import sentencepiece as spm  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from tokenizers import Tokenizer, models, pre_tokenizers, trainers  # noqa: E402
from transformers import (RobertaTokenizer, RobertaTokenizerFast,  # noqa: E402
                          XLMRobertaTokenizer, XLMRobertaTokenizerFast)

MAX_LENGTH = 512
SHORT_MAX_LENGTH = 16
VOCAB_SIZE = 1000
SEED = 1234
IDS_FIRST = 50  # records per file that also carry their ids
TRAIN_FILES = ("fine_foods/train.tsv", "spam_assassin/train.tsv")
DATA_FILES = tuple(f"{d}/{s}.tsv" for d in ("fine_foods", "spam_assassin") for s in ("train", "dev", "test"))
ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
TOKENIZERS = ("roberta", "xlm-roberta")

# --------------------------------------------------------------------------
# Hard cases beyond make_tokenizer_golden.HARD_CASES (which are imported, not copied).
# --------------------------------------------------------------------------
SPECIALS = ["<s>", "</s>", "<pad>", "<unk>", "<mask>"]
SCRIPT_CASES = ("cjk_chinese", "japanese_kana_latin", "korean_hangul", "vietnamese_stacked_diacritics",
                "cyrillic", "greek", "arabic_with_harakat", "hebrew_with_niqqud", "devanagari", "thai")
SCRIPT_REPEAT = 400  # each script case repeated (space-joined) to far more than 512 tokens
PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
SHORT_WORDS = ["a", "to", "be", "or", "not", "it", "is", "we", "go", "up"]


def subword_cases():
    hard = dict(HARD_CASES)
    cases = []
    # special-token strings typed in the text
    for s in SPECIALS:
        n = s.strip("<>/") + ("_close" if s.startswith("</") else "")
        cases += [
            (f"special_{n}_alone", s),
            (f"special_{n}_spaced", f"a {s} b"),
            (f"special_{n}_glued", f"a{s}b"),
            (f"special_{n}_space_before", f"hello {s}"),
            (f"special_{n}_space_after", f"{s} world"),
            (f"special_{n}_two_spaces_around", f"x  {s}  y"),
        ]
    cases += [
        ("special_mask_after_tab", "hello\t<mask> world"),
        ("special_mask_after_newline", "hello\n<mask>"),
        ("special_mask_after_nbsp", "hello\u00a0<mask>"),
        ("special_mask_start_of_text_space", " <mask>"),
        ("special_uppercase_not_special", "<S> </S> <PAD> <UNK> <MASK> <Mask>"),
        ("special_spaced_inside_not_special", "< s > </ s> <s >"),
        ("special_partial", "<s <mask </s"),
        ("special_adjacent_s_close", "<s></s>"),
        ("special_adjacent_many", "<s><s></s></s><pad><pad><unk><mask><mask>"),
        ("special_adjacent_words", "a<s>b</s>c<mask>d<pad>e<unk>f"),
        ("special_in_markup", "<b><s>bold</s></b> <mask>."),
    ]
    # whitespace
    cases += [
        ("ws_run_spaces", "a   b"),
        ("ws_run_spaces_long", "a" + " " * 40 + "b"),
        ("ws_tabs", "a\tb\t\tc"),
        ("ws_two_newlines", "\n\n"),
        ("ws_newlines_between", "a\n\nb\r\n\r\nc"),
        ("ws_trailing_spaces", "trailing   "),
        ("ws_leading_spaces", "   leading"),
        ("ws_leading_trailing_one", " x "),
        ("ws_only_one_space", " "),
        ("ws_only_many_spaces", " " * 20),
        ("ws_only_tab", "\t"),
        ("ws_space_before_punct", "end .  end !"),
        ("ws_mixed_unicode", "a\u00a0\u2003b \u3000c\u200bd"),
    ]
    # GPT-2 contractions
    cases += [
        ("contractions_all_lower", "'s 't 're 've 'm 'll 'd"),
        ("contractions_all_upper", "'S 'T 'RE 'VE 'M 'LL 'D"),
        ("contractions_in_words", "it's can't we're I've I'm we'll he'd"),
        ("contractions_in_words_upper", "IT'S CAN'T WE'RE I'VE I'M WE'LL HE'D"),
        ("contractions_mixed_case", "It'S we'Re they'LL"),
        ("contractions_glued", "y'all'd've 'sss ''s 'x"),
        ("contractions_curly_apostrophe", "it\u2019s we\u2019ll"),
    ]
    # numbers
    cases += [
        ("numbers_no_space", "123"),
        ("numbers_leading_space", " 123"),
        ("numbers_in_text", "a 123 b456 789c 1,234.56 -7 +8"),
        ("numbers_long_run", "12345678901234567890"),
        ("numbers_separated", "1 2 3 10 20 30 100 2024-01-02"),
        ("numbers_other_digits", "\u0663\u0664 \u0967\u0968 \uff11\uff12"),
    ]
    # very long inputs
    cases += [
        ("long_word_20000_letters", "abcdefghij" * 2000),
        ("long_word_20000_same_letter", "a" * 20000),
        ("long_word_20000_digits", ("1234567890" * 2000)),
        ("long_punctuation_run_3000", (PUNCT * (3000 // len(PUNCT) + 1))[:3000]),
        ("long_line_5000_short_words", " ".join(SHORT_WORDS[i % len(SHORT_WORDS)] for i in range(5000))),
    ]
    for name in SCRIPT_CASES:
        cases.append((f"script_repeated_{name}", " ".join([hard[name]] * SCRIPT_REPEAT)))
    # emoji, combining marks, NFKC-sensitive characters, U+FFFD
    cases += [
        ("emoji_mixed_zwj_skin_tones",
         "ok\U0001F469\U0001F3FD\u200d\U0001F4BB\U0001F468\u200d\U0001F469\u200d\U0001F467 "
         "\U0001F44D\U0001F3FF\U0001F3F3\ufe0f\u200d\U0001F308 hi\U0001F642there \U0001F9D1\U0001F3FB\u200d\U0001F91D\u200d\U0001F9D1\U0001F3FF"),
        ("combining_marks_stacked", "a\u0300\u0301\u0302 e\u0301 Z\u0351\u0352\u0353\u0354 o\u0308\u0304"),
        ("combining_three_marks_on_a", "a\u0300\u0301\u0302"),  # NFKC: U+00E0 U+0301 U+0302
        ("combining_two_marks_on_o", "o\u0308\u0304"),  # NFKC: U+022B
        ("combining_decomposed_hangul_jamo", "\u1100\u1161\u11a8 \u1112\u1161\u11ab"),
        ("nfkc_ligatures", "\ufb01ne \ufb02ow \ufb00 \ufb03 \ufb04 \ufb05"),
        ("nfkc_fullwidth", "\uff28\uff45\uff4c\uff4c\uff4f\uff0c \uff37\uff4f\uff52\uff4c\uff44\uff01 \uff11\uff12\uff13"),
        ("nfkc_squared_units", "5\u338f 3\u339e \u337b \u3392"),
        ("nfkc_circled_numbers", "\u2460 \u2469 \u2473"),
        ("nfkc_angstrom_kelvin_ohm", "\u212b \u212a \u2126 \u00c5"),
        ("nfkc_misc", "x\u00b2 \u00bd \u2122 \u017f \u2026 \u216b \uff76\uff80\uff76\uff85 \u00a0nbsp"),
        ("nfkc_composition", "A\u030a e\u0301 n\u0303"),
        ("replacement_char_alone", "\ufffd"),
        ("replacement_chars_run", "a\ufffd\ufffd\ufffdb \ufffd c"),
    ]
    return cases


INVALID_UTF8 = [
    ("invalid_lone_continuation_80", b"\x80"),
    ("invalid_lone_continuation_in_word", b"a\x80b"),
    ("invalid_continuation_run", b"x\x80\x81\xbfy"),
    ("invalid_truncated_2byte_at_end", b"caf\xc3"),
    ("invalid_truncated_3byte_at_end", b"euro \xe2\x82"),
    ("invalid_truncated_4byte_at_end", b"smile \xf0\x9f\x98"),
    ("invalid_truncated_3byte_then_ascii", b"\xe2\x28\xa1 x"),
    ("invalid_overlong_c0_af", b"a\xc0\xafb"),
    ("invalid_overlong_e0_80_af", b"\xe0\x80\xaf"),
    ("invalid_surrogate_ed_a0_80", b"x\xed\xa0\x80y"),
    ("invalid_ff_fe", b"\xff\xfe"),
    ("invalid_ff_fe_then_text", b"\xff\xfehello"),
    ("invalid_above_max_f4_90_80_80", b"\xf4\x90\x80\x80"),
    ("invalid_f5_lead", b"\xf5\x80 ok"),
    ("invalid_bytes_mid_words", b"hel\x80lo wor\xffld caf\xc3 ok \xe2\x82end"),
    ("invalid_valid_then_stray", b"\xc3\xa9\xa9 \xe2\x82\xac\xac"),
]


def decode_per_byte(data):
    """The engine's rule: decode each well-formed UTF-8 sequence (Unicode Table 3-7); every
    other byte becomes one U+FFFD on its own."""
    out, i, n = [], 0, len(data)
    while i < n:
        c = data[i]
        if c < 0x80:
            out.append(chr(c))
            i += 1
            continue
        if 0xC2 <= c <= 0xDF:
            need, lo, hi = 1, 0x80, 0xBF
        elif c == 0xE0:
            need, lo, hi = 2, 0xA0, 0xBF
        elif 0xE1 <= c <= 0xEC or 0xEE <= c <= 0xEF:
            need, lo, hi = 2, 0x80, 0xBF
        elif c == 0xED:
            need, lo, hi = 2, 0x80, 0x9F
        elif c == 0xF0:
            need, lo, hi = 3, 0x90, 0xBF
        elif 0xF1 <= c <= 0xF3:
            need, lo, hi = 3, 0x80, 0xBF
        elif c == 0xF4:
            need, lo, hi = 3, 0x80, 0x8F
        else:  # 0x80..0xC1, 0xF5..0xFF never start a sequence
            out.append("\ufffd")
            i += 1
            continue
        seq = data[i:i + 1 + need]
        if len(seq) == need + 1 and lo <= seq[1] <= hi and all(0x80 <= b <= 0xBF for b in seq[2:]):
            out.append(seq.decode("utf-8"))
            i += need + 1
        else:
            out.append("\ufffd")
            i += 1
    return "".join(out)


def fnv1a64(ids):
    h = 0xcbf29ce484222325
    for b in struct.pack(f"<{len(ids)}i", *ids):
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def read_texts(data_dir, rel):
    return list(read_tsv_texts(os.path.join(data_dir, rel)))


def train_roberta(texts, out):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=ROBERTA_SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    with tempfile.TemporaryDirectory() as tmp:
        vocab, merges = tok.model.save(tmp)
        slow = RobertaTokenizer(vocab_file=vocab, merges_file=merges, model_max_length=MAX_LENGTH)
        slow.save_pretrained(out)
    fast = RobertaTokenizerFast(vocab_file=os.path.join(out, "vocab.json"),
                                merges_file=os.path.join(out, "merges.txt"), model_max_length=MAX_LENGTH)
    fast.save_pretrained(out, legacy_format=False)


def train_xlmr(texts, out):
    os.makedirs(out, exist_ok=True)
    model = io.BytesIO()
    spm.set_random_generator_seed(SEED)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=model, model_type="unigram", vocab_size=VOCAB_SIZE,
        normalization_rule_name="nmt_nfkc", character_coverage=1.0, unk_id=0, bos_id=1, eos_id=2,
        pad_id=-1, num_threads=1, shuffle_input_sentence=False, input_sentence_size=0,
        max_sentence_length=16384, minloglevel=2)
    path = os.path.join(out, "sentencepiece.bpe.model")
    with open(path, "wb") as f:
        f.write(model.getvalue())
    XLMRobertaTokenizer(vocab_file=path, model_max_length=MAX_LENGTH).save_pretrained(out)
    XLMRobertaTokenizerFast(vocab_file=path, model_max_length=MAX_LENGTH).save_pretrained(out)


def load_pair(name, d):
    """(slow reference from the vocabulary files, fast from tokenizer.json)."""
    if name == "roberta":
        slow = RobertaTokenizer(vocab_file=os.path.join(d, "vocab.json"), merges_file=os.path.join(d, "merges.txt"),
                                model_max_length=MAX_LENGTH)
        fast = RobertaTokenizerFast(tokenizer_file=os.path.join(d, "tokenizer.json"), model_max_length=MAX_LENGTH)
    else:
        slow = XLMRobertaTokenizer(vocab_file=os.path.join(d, "sentencepiece.bpe.model"), model_max_length=MAX_LENGTH)
        fast = XLMRobertaTokenizerFast(tokenizer_file=os.path.join(d, "tokenizer.json"), model_max_length=MAX_LENGTH)
    return slow, fast


def encode(tok, text, max_length=MAX_LENGTH):
    return tok(text, add_special_tokens=True, truncation=True, max_length=max_length)["input_ids"]


def classify(slow, fast, text):
    """'tie' when slow and fast give the same ids in another order (untruncated): an equal-score
    Viterbi tie of the unigram model broken differently; 'other' otherwise."""
    a = slow(text, add_special_tokens=True)["input_ids"]
    b = fast(text, add_special_tokens=True)["input_ids"]
    return "tie" if sorted(a) == sorted(b) else "other"


def spm_reference_encode(pieces, unk_score, normalized):
    """sentencepiece 0.2.0's unigram Encode (EncodeOptimized), re-implemented to pin down how it
    breaks equal-score ties, which the C++ engine must do the same way: starts in increasing
    UTF-8 byte order, pieces by increasing length, candidate = piece score (float) + best score
    ending at the start (float) computed in DOUBLE (in the C++ source the ternary with the
    user-defined bonus `length * max_score_ - 0.1` makes the score a double), replacing the
    stored best only when strictly greater than the stored FLOAT, then stored rounded to float.
    A position with no one-character piece gets an <unk> of score min_score - 10; consecutive
    <unk>s are merged into one (SentencePieceProcessor::Encode). `pieces`: UTF-8 bytes -> (id,
    float32 score) for the NORMAL pieces. Returns spm ids."""
    b = normalized.encode("utf-8")
    n = len(b)
    maxlen = max(len(p) for p in pieces)
    best = [None] * (n + 1)  # (float32 score, start, id)
    best[0] = (np.float32(0.0), -1, -1)
    s = 0
    while s < n:
        base = float(best[s][0])
        c0 = b[s]
        mb = min(1 if c0 < 0x80 else 2 if c0 < 0xE0 else 3 if c0 < 0xF0 else 4, n - s)
        single = False
        for e in range(s + 1, min(n, s + maxlen) + 1):
            p = pieces.get(b[s:e])
            if p is None:
                continue
            cand = float(p[1]) + base
            if best[e] is None or cand > float(best[e][0]):
                best[e] = (np.float32(cand), s, p[0])
            single = single or e - s == mb
        if not single:
            cand = float(unk_score) + base
            if best[s + mb] is None or cand > float(best[s + mb][0]):
                best[s + mb] = (np.float32(cand), s, 0)
        s += mb
    out, e = [], n
    while e > 0:
        _, s, i = best[e]
        out.append(i)
        e = s
    merged = []
    for i in reversed(out):
        if not (i == 0 and merged and merged[-1] == 0):
            merged.append(i)
    return merged


def check_spm_reference(model_path, texts):
    sp = spm.SentencePieceProcessor(model_file=model_path)
    pieces = {sp.id_to_piece(i).encode("utf-8"): (i, np.float32(sp.get_score(i)))
              for i in range(sp.get_piece_size()) if not (sp.is_control(i) or sp.is_unknown(i))}
    unk_score = np.float32(min(s for _, s in pieces.values()) - np.float32(10.0))
    bad = [t for t in texts if spm_reference_encode(pieces, unk_score, sp.normalize(t)) != sp.encode(t)]
    assert not bad, f"spm_reference_encode disagrees with sentencepiece on {len(bad)} texts: {bad[:3]!r}"
    return len(texts)


def check_vocab(name, slow, fast, d):
    if name == "roberta":
        with open(os.path.join(d, "vocab.json"), encoding="utf-8") as f:
            vocab = json.load(f)
        assert len(vocab) == VOCAB_SIZE, len(vocab)
        assert [vocab[s] for s in ROBERTA_SPECIALS] == [0, 1, 2, 3, 4]
        byte_syms = sorted(pre_tokenizers.ByteLevel.alphabet())
        assert [vocab[s] for s in byte_syms] == list(range(5, 5 + 256))
        assert len(slow) == len(fast) == VOCAB_SIZE
        assert slow.added_tokens_decoder[4].lstrip and not slow.added_tokens_decoder[0].lstrip
    else:
        sp = spm.SentencePieceProcessor(model_file=os.path.join(d, "sentencepiece.bpe.model"))
        assert sp.get_piece_size() == VOCAB_SIZE
        assert [sp.id_to_piece(i) for i in range(3)] == ["<unk>", "<s>", "</s>"]
        assert [slow.convert_tokens_to_ids(t) for t in ["<s>", "<pad>", "</s>", "<unk>"]] == [0, 1, 2, 3]
        for p in range(3, VOCAB_SIZE):
            assert slow.convert_tokens_to_ids(sp.id_to_piece(p)) == p + 1
            assert fast.convert_tokens_to_ids(sp.id_to_piece(p)) == p + 1
        assert slow.mask_token_id == fast.mask_token_id == VOCAB_SIZE + 1
        assert len(slow) == len(fast) == VOCAB_SIZE + 2
        assert slow.added_tokens_decoder[VOCAB_SIZE + 1].lstrip


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", required=True, help="data/ (fine_foods/, spam_assassin/)")
    ap.add_argument("--out-dir", required=True, help="tests/golden/tokenizers")
    args = ap.parse_args()
    transformers.logging.set_verbosity_error()  # no "longer than the specified maximum" warnings
    print(f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}, "
          f"sentencepiece {spm.__version__}, protobuf {google.protobuf.__version__}", file=sys.stderr)

    data = {rel: read_texts(args.data_dir, rel) for rel in DATA_FILES}
    train_texts = [t for rel in TRAIN_FILES for _, t in data[rel]]
    cases = HARD_CASES + subword_cases()
    names = [n for n, _ in cases] + [n for n, _ in INVALID_UTF8]
    assert len(names) == len(set(names)), "duplicate hard-case names"
    invalid = [(n, b, decode_per_byte(b)) for n, b in INVALID_UTF8]
    for n, b, t in invalid:
        try:
            b.decode("utf-8")
            raise AssertionError(f"{n} is valid UTF-8")
        except UnicodeDecodeError:
            pass
    # the rule's defining examples
    assert decode_per_byte(b"\xed\xa0\x80") == "\ufffd" * 3
    assert decode_per_byte(b"\xc0\xaf") == "\ufffd" * 2
    assert decode_per_byte(b"\xe2\x82") == "\ufffd" * 2
    assert decode_per_byte("ok é € \U0001F600".encode()) == "ok é € \U0001F600"

    summary = []
    for name in TOKENIZERS:
        d = os.path.join(args.out_dir, name)
        shutil.rmtree(d, ignore_errors=True)
        (train_roberta if name == "roberta" else train_xlmr)(train_texts, d)
        slow, fast = load_pair(name, d)
        check_vocab(name, slow, fast, d)

        # ---- data texts ----
        n_texts = n_ids = n_trunc = 0
        data_diffs = []
        path = os.path.join(d, "data_ids.jsonl")
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            for rel in DATA_FILES:
                for k, (line_no, text) in enumerate(data[rel]):
                    ids = encode(slow, text)
                    fids = encode(fast, text)
                    if ids != fids:
                        data_diffs.append((rel, line_no, text, ids, fids))
                    rec = {"file": rel, "line": line_no, "n": len(ids), "fnv1a64": fnv1a64(ids)}
                    if k < IDS_FIRST:
                        rec["ids"] = ids
                    out.write(json.dumps(rec, separators=(",", ":")) + "\n")
                    n_texts += 1
                    n_ids += len(ids)
                    n_trunc += len(ids) == MAX_LENGTH
        print(f"[{name}] wrote {path}: {n_texts} texts, {n_ids} ids, {n_trunc} truncated at {MAX_LENGTH}",
              file=sys.stderr)
        kinds = [classify(slow, fast, text) for _, _, text, _, _ in data_diffs]
        print(f"[{name}] data slow/fast disagreements: {len(data_diffs)} "
              f"({kinds.count('tie')} ties: same ids in another order; {kinds.count('other')} other)",
              file=sys.stderr)
        for k, ((rel, line_no, text, a, b), kind) in enumerate(zip(data_diffs, kinds)):
            print(f"  {rel} line {line_no}: {kind}", file=sys.stderr)
            if k < 10 or kind != "tie":
                print(describe_diff(slow, fast, text, a, b), file=sys.stderr)

        # ---- hard cases ----
        case_diffs, short_diffs = [], []
        h_trunc = h_ids = 0
        path = os.path.join(d, "hard_cases.jsonl")
        spath = os.path.join(d, "hard_cases_max_length.jsonl")
        with open(path, "w", encoding="utf-8", newline="\n") as out, \
                open(spath, "w", encoding="utf-8", newline="\n") as sout:
            for cname, text, raw in [(n, t, None) for n, t in cases] + [(n, t, b) for n, b, t in invalid]:
                ids, fids = encode(slow, text), encode(fast, text)
                sids, sfids = encode(slow, text, SHORT_MAX_LENGTH), encode(fast, text, SHORT_MAX_LENGTH)
                if ids != fids:
                    case_diffs.append((cname, text, ids, fids))
                if sids != sfids:
                    short_diffs.append((cname, text, sids, sfids))
                rec = {"name": cname, "text": text, "ids": ids} if raw is None else \
                    {"name": cname, "bytes_hex": raw.hex(), "text": text, "ids": ids}
                out.write(dump_line(rec))
                sout.write(dump_line({"name": cname, "ids": sids}))
                h_ids += len(ids)
                h_trunc += len(ids) == MAX_LENGTH
        n_cases = len(cases) + len(invalid)
        print(f"[{name}] wrote {path}: {n_cases} cases ({len(invalid)} invalid UTF-8), {h_ids} ids, "
              f"{h_trunc} truncated at {MAX_LENGTH}; and {spath}", file=sys.stderr)
        print(f"[{name}] hard-case slow/fast disagreements: {len(case_diffs)} at max_length {MAX_LENGTH}, "
              f"{len(short_diffs)} at max_length {SHORT_MAX_LENGTH}", file=sys.stderr)
        for cname, text, a, b in case_diffs:
            print(f"  {cname}: {classify(slow, fast, text)}\n{describe_diff(slow, fast, text, a, b)}",
                  file=sys.stderr)
        for cname, text, a, b in short_diffs:
            print(f"  {cname} (max_length {SHORT_MAX_LENGTH})\n{describe_diff(slow, fast, text, a, b)}",
                  file=sys.stderr)

        # ---- read-back checks ----
        with open(os.path.join(d, "data_ids.jsonl"), encoding="utf-8") as f:
            back = [json.loads(line) for line in f]
        assert [(r["file"], r["line"]) for r in back] == [(rel, n) for rel in DATA_FILES for n, _ in data[rel]]
        for r in back:
            if "ids" in r:
                assert r["n"] == len(r["ids"]) and r["fnv1a64"] == fnv1a64(r["ids"])
        assert sum("ids" in r for r in back) == IDS_FIRST * len(DATA_FILES)
        with open(path, encoding="utf-8") as f:
            back = [json.loads(line) for line in f]
        with open(spath, encoding="utf-8") as f:
            sback = [json.loads(line) for line in f]
        assert [(r["name"], r["text"]) for r in back] == cases + [(n, t) for n, _, t in invalid]
        assert [r["name"] for r in sback] == [r["name"] for r in back]
        assert all(decode_per_byte(bytes.fromhex(r["bytes_hex"])) == r["text"] for r in back if "bytes_hex" in r)
        for r in back:
            long_case = r["name"].startswith(("long_word_20000_", "long_punctuation_run_", "long_line_",
                                              "script_repeated_", "truncation_"))
            assert long_case == (len(r["ids"]) == MAX_LENGTH), r["name"]
        if name == "xlm-roberta":
            tie_texts = [text for _, _, text, _, _ in data_diffs]
            firsts = [t for rel in DATA_FILES for _, t in data[rel][:IDS_FIRST]]
            n_checked = check_spm_reference(os.path.join(d, "sentencepiece.bpe.model"),
                                            tie_texts + firsts + [r["text"] for r in back])
            print(f"[{name}] spm_reference_encode == sentencepiece on {n_checked} texts "
                  f"(every data disagreement, the first {IDS_FIRST} of each file, the hard cases)",
                  file=sys.stderr)
        # the saved directory, loaded as AutoTokenizer would (tokenizer_config.json), agrees
        reload_slow = (RobertaTokenizer if name == "roberta" else XLMRobertaTokenizer).from_pretrained(d)
        for r, s in zip(back, sback):
            assert r["ids"] == encode(reload_slow, r["text"]), r["name"]
            assert s["ids"] == encode(reload_slow, r["text"], SHORT_MAX_LENGTH), r["name"]
            assert len(s["ids"]) <= SHORT_MAX_LENGTH and s["ids"][0] == 0 and s["ids"][-1] == 2
        summary.append((name, n_texts, n_ids, n_trunc, len(data_diffs), n_cases, h_ids, h_trunc,
                        [c[0] for c in case_diffs], [c[0] for c in short_diffs],
                        [f"{r}:{n}" for r, n, *_ in data_diffs]))

    print("summary:", file=sys.stderr)
    for (name, n_texts, n_ids, n_trunc, n_dd, n_cases, h_ids, h_trunc, cd, sd, dd) in summary:
        d = os.path.join(args.out_dir, name)
        dd = dd[:8] + ([f"... {len(dd) - 8} more"] if len(dd) > 8 else [])
        print(f"  {name}: data {n_texts} texts, {n_ids} ids, {n_trunc} truncated, {n_dd} slow/fast "
              f"disagreements {dd}; hard cases {n_cases}, {h_ids} ids, {h_trunc} truncated, "
              f"{len(cd)} disagreements {cd}; at max_length {SHORT_MAX_LENGTH}: {len(sd)} {sd}", file=sys.stderr)
        for fn in sorted(os.listdir(d)):
            p = os.path.join(d, fn)
            with open(p, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            print(f"    {os.path.getsize(p):9d}  {digest[:16]}  {fn}", file=sys.stderr)


if __name__ == "__main__":
    main()
