#!/usr/bin/env python3
"""Write WordPiece tokenizer golden data (uncased BERT, all-MiniLM-L6-v2 vocab).

Why: the C++ engine ships its own BERT BasicTokenizer + WordPiece; these
fixtures pin its output to Hugging Face's slow, pure-Python
transformers.BertTokenizer, which is the reference implementation.
BertTokenizerFast (Rust `tokenizers`, loaded from tokenizer.json) is run as
well and every disagreement is printed; the SLOW ids are always recorded.

Usage:
    python make_tokenizer_golden.py --model DIR --data-dir data/fine_foods \
        --out-dir tests/golden

Outputs (JSON Lines, UTF-8, one object per line):
  wordpiece_fine_foods.jsonl
      {"split": "train"|"dev"|"test", "line": 1-based line in <split>.tsv, "ids": [...]}
      for EVERY line of train.tsv, dev.tsv, test.tsv in that order; the text
      is the part after the first TAB (not repeated here: read it from the TSV).
  tokenizer_hard_cases.jsonl
      {"name": ..., "text": ..., "ids": [...]} for HARD_CASES below.

ids = input_ids with special tokens ([CLS] ... [SEP]) and truncation to
max_length=512 (i.e. at most 510 WordPiece tokens + the two specials).
Text is written as raw UTF-8, except that JSON escapes '"', '\\' and the C0
controls U+0000..U+001F (\\n, \\t, \\u0000, ...), and this script also
escapes U+0085, U+2028, U+2029 as \\u0085 etc. (no surrogate pairs are used).
"""
import argparse
import json
import os
import sys
import unicodedata

import transformers
import tokenizers
from transformers import BertTokenizer, BertTokenizerFast

MAX_LENGTH = 512
SPLITS = ("train", "dev", "test")

# --------------------------------------------------------------------------
# Hard cases.  Invisible / ambiguous characters are written as \u escapes so
# this source file shows exactly what is being tested.  Names are unique.
# --------------------------------------------------------------------------
HARD_CASES = [
    ("ascii_simple", "Hello, world! This is a test."),
    ("empty", ""),
    ("only_spaces", "     "),
    ("only_ascii_whitespace_controls", " \t\n\r \t"),
    ("only_punctuation", "?!...,,;;--!!"),
    # accents: the uncased vocab lowercases, NFD-decomposes and drops marks (Mn)
    ("accents_precomposed", "café naïve résumé Ångström"),
    ("accents_combining_u0301", "cafe\u0301 re\u0301sume\u0301 nai\u0308ve"),
    ("combining_mark_without_base", "\u0301abc \u0308"),
    ("uppercase_accents", "CAFÉ ÉCOLE ÜBER ÇA NAÏVE"),
    ("uppercase_combining", "E\u0301COLE RE\u0301SUME\u0301"),
    ("vietnamese_stacked_diacritics", "Tiếng Việt có dấu rất đẹp"),
    ("unicode_singletons_kelvin_ohm_angstrom", "5\u212a 10\u2126 3\u212b"),
    # CJK: Chinese ideographs are split into single characters, kana/hangul are not
    ("cjk_chinese", "中文字符测试"),
    ("cjk_chinese_mixed_latin", "我爱BERT模型and中文123"),
    ("cjk_fullwidth_punctuation", "你好，世界！（测试）【括号】「引号」"),
    ("japanese_kana_latin", "これはテストですBERTとカタカナ、ひらがな。ガギグ"),
    ("korean_hangul", "한국어 텍스트 처리 KOREAN"),
    # emoji
    ("emoji_basic", "I love it \U0001F600\U0001F44D\U0001F525!"),
    ("emoji_zwj_family", "family \U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466 ok"),
    ("emoji_zwj_skin_tone", "coder \U0001F469\U0001F3FD\u200d\U0001F4BB here"),
    ("emoji_flags", "flags \U0001F1FA\U0001F1F8\U0001F1E9\U0001F1EA\U0001F1EF\U0001F1F5"),
    ("emoji_variation_selector", "heart \u2764\ufe0f star \u2b50 check \u2714\ufe0f"),
    ("emoji_newer_unicode", "melting \U0001FAE0 tear \U0001F972 end"),  # Unicode 14 / 13
    # invisible format characters (category Cf) -> deleted by BERT text cleaning
    ("zero_width_space_u200b", "zero\u200bwidth\u200b space"),
    ("zero_width_joiner_nonjoiner", "a\u200db\u200cc d\u200de"),
    ("bom_ufeff", "\ufeffBOM at start and mid\ufeffword"),
    ("soft_hyphen_u00ad", "soft\u00adhyphen co\u00adoperate"),
    # control characters: \t \n \r are whitespace, other Cc are deleted
    ("controls_tab_newline_cr", "tab\there\nnewline\r\ncrlf\rcr"),
    ("controls_nul_bel_esc", "nul\x00bell\x07esc\x1b[31mred\x1b[0m"),
    ("control_nel_u0085", "next\u0085line"),
    ("control_del_and_c1", "del\x7fete c1\x9bcsi"),
    ("replacement_char_ufffd", "103\ufffd fever \ufffd"),
    ("private_use_chars", "a\ue000b \U000f0000c"),
    # Unicode spaces (category Zs) are whitespace
    ("nbsp_u00a0", "non\u00a0breaking\u00a0space 10\u00a0kg"),
    ("unicode_spaces", "em\u2003space ideo\u3000space thin\u2009space nnbsp\u202fx en\u2002y"),
    ("line_paragraph_separators", "line\u2028sep para\u2029sep"),
    # punctuation
    ("ascii_punctuation_all", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    ("unicode_quotes", "«Bonjour» „Guten Tag“ “quoted” ‘single’ ‹x›"),
    ("dashes_ellipsis", "wait\u2014what\u2026 really\u2013yes \u2015 ok"),
    ("inverted_marks", "¿Qué pasa? ¡Olé!"),
    ("newer_unicode_punctuation", "a\u2e52b c\u2e4fd"),  # Unicode 13 / 11 (Po)
    ("math_symbols", "∑ x² ≤ ∞ ± √2 ≠ π × ÷ → ∀∃ ½ a+b=c <x>"),
    ("superscripts_subscripts_roman", "H₂O x³ ⅻ Ⅻ ①"),
    ("currency_symbols", "€5 £3 ¥100 ₹20 $7 ₿1"),
    ("digits_separators", "It costs $1,000.50 (or 1.000,50 €), 3.14159, 2nd, 10%, 24/7, 1e-5, -42"),
    ("urls", "Visit https://www.example.com/path?q=a&b=c#frag or http://foo.bar:8080/x_y"),
    ("emails", "Email john.doe+tag@example.co.uk now"),
    ("html_markup", "&amp; &lt;br /&gt; <br /> <b>bold</b>"),
    ("contractions_ascii", "I'm sure it's the dogs' toys, don't y'all? rock 'n' roll O'Neill"),
    ("contractions_curly", "I\u2019m sure it\u2019s fine, don\u2019t worry"),
    ("literal_special_tokens", "[CLS] hello [SEP] [MASK] [UNK] [PAD] [cls] [unk]"),
    # WordPiece max_input_chars_per_word = 100: longer words become [UNK]
    ("long_word_over_100_chars_unk", "see " + "pneumonoultramicroscopicsilicovolcanoconiosis" * 3 + " end"),
    ("long_word_exactly_100_chars", "a" * 100),
    ("long_word_101_chars_unk", "a" * 101),
    ("long_word_100_accented_precomposed", "é" * 100),
    ("long_word_100_accented_combining", "e\u0301" * 100),
    ("long_word_101_accented_unk", "é" * 101),
    ("long_word_100_uppercase_accented", "Ü" * 100),
    # > 510 WordPiece tokens: truncated to 510 + [CLS]/[SEP]
    ("truncation_over_512_tokens", "The quick brown fox jumps over the lazy dog. " * 60),
    ("truncation_long_single_line_digits", " ".join(str(i) for i in range(600))),
    # other scripts
    ("cyrillic", "Привет, мир! ЁЖИК ёжик"),
    ("greek", "Γειά σου Κόσμε, καλημέρα"),
    ("greek_final_sigma_uppercase", "ΟΔΟΣ ΣΟΦΟΣ ΣΑΣ ΌΣΟΣ"),
    ("arabic_with_harakat", "مرحبا بالعالم، كَيْفَ حَالُكَ؟"),
    ("hebrew_with_niqqud", "שָׁלוֹם עולם"),
    ("devanagari", "नमस्ते दुनिया हिन्दी"),
    ("thai", "สวัสดีชาวโลก ภาษาไทย"),
    ("mixed_scripts_one_word", "abcабвαβγ日本"),
    # compatibility characters are NOT NFKC-folded by BERT
    ("ligatures", "\ufb01ne \ufb02our \ufb00 œuvre Æsir"),
    ("fullwidth_latin_digits", "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ！"),
    ("turkish_dotted_capital_i", "İstanbul İSTANBUL ıi"),
    ("german_eszett", "Straße STRASSE Fuß \u1e9e"),
]


def load_tokenizers(model_dir):
    with open(os.path.join(model_dir, "tokenizer_config.json"), encoding="utf-8") as f:
        tcfg = json.load(f)
    # Slow reference, built from vocab.txt with the checkpoint's settings
    # (do_lower_case=True, tokenize_chinese_chars=True, strip_accents=None,
    # i.e. accents are stripped because lowercasing is on).
    slow = BertTokenizer(os.path.join(model_dir, "vocab.txt"),
                         do_lower_case=tcfg.get("do_lower_case", True),
                         tokenize_chinese_chars=tcfg.get("tokenize_chinese_chars", True),
                         strip_accents=tcfg.get("strip_accents"),
                         model_max_length=MAX_LENGTH)
    # Fast, from the checkpoint's tokenizer.json (what AutoTokenizer gives).
    fast = BertTokenizerFast.from_pretrained(model_dir)
    return tcfg, slow, fast


def dump_line(obj):
    """One JSON line, raw UTF-8, but with the characters some line readers
    (Python str.splitlines, editors) treat as line breaks escaped too, so a
    record can never be split: U+0085 NEL, U+2028, U+2029."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    for ch in ("\u0085", "\u2028", "\u2029"):
        s = s.replace(ch, "\\u%04x" % ord(ch))
    return s + "\n"


def encode(tok, text):
    return tok(text, add_special_tokens=True, truncation=True,
               max_length=MAX_LENGTH)["input_ids"]


def describe_diff(slow, fast, text, a, b):
    """Human-readable slow-vs-fast difference."""
    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
    return (f"    text : {text[:200]!r}\n"
            f"    slow : {len(a)} ids, from #{i}: {slow.convert_ids_to_tokens(a[i:i + 12])}\n"
            f"    fast : {len(b)} ids, from #{i}: {fast.convert_ids_to_tokens(b[i:i + 12])}")


def read_tsv_texts(path):
    """Yield (1-based line number, text) for each line 'label<TAB>text'."""
    with open(path, "rb") as f:
        raw = f.read().decode("utf-8")  # strict UTF-8
    lines = raw.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # trailing newline
    for n, line in enumerate(lines, 1):
        _label, text = line.split("\t", 1)
        yield n, text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="HF checkpoint dir (vocab.txt, tokenizer.json, ...)")
    ap.add_argument("--data-dir", required=True, help="dir holding train.tsv, dev.tsv, test.tsv")
    ap.add_argument("--out-dir", required=True, help="where to write the .jsonl fixtures")
    args = ap.parse_args()

    tcfg, slow, fast = load_tokenizers(args.model)
    print(f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}, "
          f"unicodedata {unicodedata.unidata_version}; do_lower_case={tcfg.get('do_lower_case')}",
          file=sys.stderr)

    # ---- 1. every text of the fine_foods splits ----
    out_path = os.path.join(args.out_dir, "wordpiece_fine_foods.jsonl")
    n_texts = n_tokens = n_truncated = 0
    data_diffs = []
    with open(out_path, "w", encoding="utf-8", newline="\n") as out:
        for split in SPLITS:
            for line_no, text in read_tsv_texts(os.path.join(args.data_dir, f"{split}.tsv")):
                ids = encode(slow, text)
                fids = encode(fast, text)
                if ids != fids:
                    data_diffs.append((split, line_no, text, ids, fids))
                out.write(json.dumps({"split": split, "line": line_no, "ids": ids},
                                     separators=(",", ":")) + "\n")
                n_texts += 1
                n_tokens += len(ids)
                n_truncated += len(ids) == MAX_LENGTH
    print(f"wrote {out_path}: {n_texts} texts, {n_tokens} ids, "
          f"{n_truncated} truncated at {MAX_LENGTH}", file=sys.stderr)
    print(f"fine_foods fast/slow disagreements: {len(data_diffs)}", file=sys.stderr)
    for split, line_no, text, a, b in data_diffs:
        print(f"  {split}.tsv line {line_no}\n{describe_diff(slow, fast, text, a, b)}", file=sys.stderr)

    # ---- 2. hard cases ----
    names = [n for n, _ in HARD_CASES]
    assert len(names) == len(set(names)), "duplicate hard-case names"
    out_path = os.path.join(args.out_dir, "tokenizer_hard_cases.jsonl")
    case_diffs = []
    with open(out_path, "w", encoding="utf-8", newline="\n") as out:
        for name, text in HARD_CASES:
            ids = encode(slow, text)
            fids = encode(fast, text)
            if ids != fids:
                case_diffs.append((name, text, ids, fids))
            out.write(dump_line({"name": name, "text": text, "ids": ids}))
    print(f"wrote {out_path}: {len(HARD_CASES)} cases", file=sys.stderr)
    print(f"hard-case fast/slow disagreements: {len(case_diffs)}", file=sys.stderr)
    for name, text, a, b in case_diffs:
        print(f"  {name}\n{describe_diff(slow, fast, text, a, b)}", file=sys.stderr)

    # ---- read-back check: the JSONL parses and matches what we computed ----
    with open(out_path, encoding="utf-8") as f:
        back = [json.loads(line) for line in f]
    assert [(r["name"], r["text"]) for r in back] == HARD_CASES
    assert all(r["ids"] == encode(slow, r["text"]) for r in back)


if __name__ == "__main__":
    main()
