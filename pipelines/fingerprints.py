"""What "the same text" means: the two fingerprints an article is judged by.

Computed in the extraction worker (they cost CPU; this module imports nothing of Scrapy
or of the crawl's URL handling, which workers need not load), judged by the store inside
its write transaction (pipelines.database), so two crawls writing at once judge against
each other's rows:

- `content_hash`: the text as a reader compares it (whitespace and date lines ignored);
  equal hashes are the same article text: a `duplicate`, or `unchanged`.
- `near_duplicate_keys`: MinHash/LSH band keys of the text's 3-shingles (of words; of
  characters in scripts written without spaces, see `units`). Two texts
  share a key when they are probably similar; the store looks keys up in an indexed table,
  so the cost per article does not grow with the store, then checks the few candidates with
  the exact `similarity`.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from functools import cache

# --- content hash -----------------------------------------------------------------

_DATE_WORDS = re.compile(
    r"^(?:\d+(?:st|nd|rd|th)?|\d{1,4}[-./:]\d{1,2}(?:[-./:]\d{1,4})?|"
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|"
    r"mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|"
    r"sat(?:urday)?|sun(?:day)?|today|yesterday|am|pm|a\.m\.|p\.m\.|utc|gmt|[a-z]st|[a-z]dt|"
    r"cet|cest|z|updated|published|posted|last|modified|edited|on|at|ago|seconds?|minutes?|"
    r"hours?|days?|mins?|hrs?|\|)$",
    re.IGNORECASE,
)


def is_date_line(line: str) -> bool:
    """A short line that is nothing but a date or time ("Updated: Tue 4 Nov 2026, 10:32").

    Pages print such a line near the text and change it without changing the article;
    a line with more than two other words is content ("The summit begins on 3 March").
    """
    words = line.split()
    others = 0
    for word in words:  # stops at the third other word: most lines are prose
        word = word.strip(",;:()[]–—-")
        if word and not _DATE_WORDS.match(word):
            others += 1
            if others > 2:
                return False
    return others < len(words) and any(c.isdigit() for c in line)


def comparable_text(text: str) -> str:
    """The text as a reader compares two versions: Unicode forms, whitespace and date
    lines do not count."""
    text = unicodedata.normalize("NFKC", text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line and not is_date_line(line))


def content_hash(text: str) -> str:
    """A fingerprint of the text that ignores cosmetic differences (see comparable_text)."""
    return _hash(comparable_text(text))


def _hash(comparable: str) -> str:
    return hashlib.sha256(comparable.encode("utf-8")).hexdigest()


def fingerprints(text: str) -> tuple[str, list[int]]:
    """`content_hash` and `near_duplicate_keys` of one text, its comparable form made once."""
    comparable = comparable_text(text)
    return _hash(comparable), _band_keys(_shingles(comparable))


# --- words, in every script -----------------------------------------------------------

# Scripts written without spaces between words: Chinese and Japanese (Han ideographs and
# their iteration marks, hiragana, katakana but its middle dot, half-width katakana), and
# Thai, Lao, Myanmar and Khmer. Hangul is not among them: Korean puts spaces between words.
# Unicode ranges written out because Python's re has no script classes; no segmenter is a
# dependency of newsmill (jieba, MeCab, PyThaiNLP and ICU each bring dictionaries or a
# C library for one script or all), and a count and shingles need no real segmentation.
_CJK = ("\u3005-\u3007\u3041-\u309f\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff"
        "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f")
_SOUTHEAST_ASIAN = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
_UNSPACED = re.compile(f"[{_CJK}{_SOUTHEAST_ASIAN}]")
_CJK_CHAR = re.compile(f"[{_CJK}]")
_SOUTHEAST_ASIAN_RUN = re.compile(f"[{_SOUTHEAST_ASIAN}]+")
_UNSPACED_RUN = re.compile(f"[{_CJK}{_SOUTHEAST_ASIAN}]+")
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")
# A shingle's unit: one character of those scripts, else a run of word characters (for
# text without them this is exactly \w+, the units near_duplicate_keys always had).
_UNIT = re.compile(f"[{_CJK}{_SOUTHEAST_ASIAN}]|[^\\W{_CJK}{_SOUTHEAST_ASIAN}]+")
# Letters per word in Thai, Lao, Myanmar and Khmer, vowel and tone marks not counted:
# Thai news sentences segmented by hand give four to five.
SOUTHEAST_ASIAN_LETTERS_PER_WORD = 4


def word_count(text: str) -> int:
    """Words in the text, in every script (`articles.word_count`, EXTRACT_MIN_WORDS).

    Text with spaces counts its space-separated words, as len(text.split()) always did.
    Chinese and Japanese count one word per character (Han, hiragana, katakana), the
    length word processors give them and the 字数 / 文字数 their writers count in; Thai,
    Lao, Myanmar and Khmer one word per SOUTHEAST_ASIAN_LETTERS_PER_WORD letters, rounded
    up for each run. Other characters in a run of text without spaces ("2026年", "iPhoneを")
    count one word per piece that holds a letter or digit.
    """
    if not _UNSPACED.search(text):
        return len(text.split())
    count = 0
    for token in text.split():
        if not _UNSPACED.search(token):
            count += 1
            continue
        count += len(_CJK_CHAR.findall(token))
        for run in _SOUTHEAST_ASIAN_RUN.findall(token):
            letters = sum(1 for c in run if unicodedata.category(c) != "Mn")  # not marks
            count += math.ceil(letters / SOUTHEAST_ASIAN_LETTERS_PER_WORD)
        count += sum(1 for piece in _UNSPACED_RUN.split(token) if _LETTER_OR_DIGIT.search(piece))
    return count


def units(text: str) -> list[str]:
    """The text's words, each character of a script written without spaces on its own.

    Shingles of three such units are word 3-grams in text with spaces and character
    3-grams in Chinese, Japanese or Thai, where a whole paragraph has no space: as word
    3-grams its sentences, not its words, would be the units, and a copy with one sentence
    changed would lose three shingles in ten.
    """
    return _UNIT.findall(text)


# --- near duplicates ----------------------------------------------------------------

# The index's shape. Changing any of these makes stored keys meaningless, so they are
# constants, not settings: 128 permutations in 14 bands of 9 rows is datasketch's optimal
# split for a Jaccard similarity of 0.7 (datasketch.lsh._optimal_param(0.7, 128)): pairs at
# 0.8 become candidates with probability 0.96, at 0.9 with 0.99+; unrelated texts (0.1)
# practically never (1e-8 per pair), which keeps the candidate list short at any size.
NUM_PERM = 128
BANDS, ROWS = 14, 9
SEED = 1
SCHEME = "affine32"  # the datasketch MinHash scheme `minhash` reproduces
SHINGLE_WORDS = 3



def shingles(text: str) -> set[str]:
    """Overlapping 3-grams of the comparable text's units (see `units`), case-folded."""
    return _shingles(comparable_text(text))


def _shingles(comparable: str) -> set[str]:
    words = units(comparable.casefold())
    if len(words) < SHINGLE_WORDS:
        return {" ".join(words)} if words else set()
    return set(map(" ".join, zip(*(words[i:] for i in range(SHINGLE_WORDS)))))


def similarity(text: str, other: str) -> float:
    """Jaccard similarity of two texts' shingle sets, 0.0 to 1.0 (exact, not estimated)."""
    a, b = shingles(text), shingles(other)
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


@cache
def _permutations():
    """The NUM_PERM permutations h -> a*h + b (mod 2^32, a odd), drawn from SEED exactly as
    datasketch's affine32 MinHash draws them, so keys match those datasketch gives."""
    import numpy as np

    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def near_duplicate_keys(text: str) -> list[int]:
    """The text's LSH band keys: one signed 64-bit integer per band.

    datasketch's MinHashLSH keeps bands in memory, Redis or Cassandra, none of which
    survives in our SQLite file, so the bands are hashed into integer keys here and stored
    by the store in an indexed table.
    """
    return _band_keys(shingles(text))


def minhash(grams: set[str]):
    """The MinHash signature of a set of shingles (not empty): datasketch's MinHash with
    scheme="affine32", seed=SEED and its default SHA-1 hash, value for value
    (tests/test_store_judgement.py compares them).

    Written here, in a few lines of numpy, because importing datasketch imports its
    whole package, SciPy included: 0.36 s of CPU in every extraction worker of every
    crawl, more than the MinHash of a few hundred pages costs.
    """
    import numpy as np

    sha1 = hashlib.sha1
    hashes = np.frombuffer(b"".join([sha1(g.encode("utf-8")).digest()[:4] for g in grams]),
                           dtype="<u4").astype(np.uint32).reshape(-1, 1)
    for shift, multiplier in ((16, 0x85EBCA6B), (13, 0xC2B2AE35)):  # MurmurHash3's fmix32
        hashes = (hashes ^ (hashes >> np.uint32(shift))) * np.uint32(multiplier)
    hashes = hashes ^ (hashes >> np.uint32(16))
    a, b = _permutations()
    return (hashes * a + b).min(axis=0)


def _band_keys(grams: set[str]) -> list[int]:
    if not grams:
        return []
    values = minhash(grams).astype("<u4")
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS:(band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8, salt=band.to_bytes(16, "little")).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return keys
