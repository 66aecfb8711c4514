"""Pages whose UTF-8 was read as latin-1 or windows-1252 before it reached us: mended.

A CMS, a feed importer or a copy and paste somewhere upstream decodes UTF-8 as latin-1 or
windows-1252 and saves the result as UTF-8 again: "Investor’s" becomes "Investorâ\\x80\\x99s"
or "Investorâ€™s", in every copy a browser shows as well. The bytes are valid UTF-8 and
their charset is declared right, so decoding cannot see it (extract_worker.decode_page).
ftfy, which exists for exactly this, decodes such text again; a few pages in a hundred
show the signature, so the page is searched for it first (in its bytes, ~0.1 ms for a
100 KB page) and only the pieces of text that show it go through ftfy (its own test of
every line costs ~50 ms on such a page).
"""  # noqa: RUF002 (the characters are the subject)

from __future__ import annotations

import re

# The signature: a character of U+00C2-U+00EF, which is how latin-1 and windows-1252 read a
# lead byte of UTF-8's two- and three-byte sequences, followed by one of the characters they
# read a continuation byte (0x80-0xBF) as: U+0080-U+00BF in latin-1, plus windows-1252's
# letters and punctuation at 0x80-0x9F.
_CONTINUATIONS = ("\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6"
                  "\u02dc\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030"
                  "\u2039\u203a\u20ac\u2122")
MOJIBAKE = re.compile(f"[\u00c2-\u00ef][{_CONTINUATIONS}]")
# The same two characters as UTF-8 bytes: U+00C2-U+00EF are C3 82-C3 AF; the continuation
# characters are C2 80-C2 BF, or windows-1252's as they encode (tests/test_mojibake.py holds
# the two expressions to the same pairs).
MOJIBAKE_UTF8 = re.compile(
    rb"\xc3[\x82-\xaf](?:\xc2[\x80-\xbf]|\xc5[\x92\x93\xa0\xa1\xb8\xbd\xbe]|\xc6\x92"
    rb"|\xcb[\x86\x9c]|\xe2\x80[\x93\x94\x98-\x9a\x9c-\x9e\xa0-\xa2\xa6\xb0\xb9\xba]"
    rb"|\xe2\x82\xac|\xe2\x84\xa2)")
# The pieces mended one at a time: runs of text between tags and line ends. Mojibake is
# never split by "<", ">" or a line end (they are ASCII), and a piece mended alone leaves
# the rest of the page, with its scripts and other languages, as it was.
_PIECE = re.compile(r"[^<>\n]+")


def shows_mojibake(body: bytes) -> bool:
    """Whether a page's UTF-8 bytes hold the signature of UTF-8 read as latin-1 (cheap)."""
    return MOJIBAKE_UTF8.search(body) is not None


def mend_mojibake(text: str) -> str:
    """The text with each piece that shows the signature decoded again by ftfy.

    ftfy.fix_encoding changes a piece only where re-encoding it gives valid UTF-8 that
    reads better by its measures: "Tom Křížek", "NESCAFÉ®" or "fiancé—a" stay as they are.
    """
    if MOJIBAKE.search(text) is None:
        return text
    from ftfy import fix_encoding  # imported by the few workers that meet such a page

    return _PIECE.sub(lambda piece: fix_encoding(piece[0]) if MOJIBAKE.search(piece[0])
                      else piece[0], text)
