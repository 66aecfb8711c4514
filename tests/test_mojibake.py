"""Text that was UTF-8 read as latin-1 or windows-1252 upstream is stored as the page meant
it ("Investor’s", not "Investorâ\\x80\\x99s" or "Investorâ€™s"); text that only looks
like it (Czech, "NESCAFÉ®", "fiancé—a") is stored as it is."""  # noqa: RUF002

from __future__ import annotations

from pipelines.mojibake import MOJIBAKE, MOJIBAKE_UTF8, mend_mojibake, shows_mojibake

MEANT = "Investor’s guide — “the long view” of a café’s 5 €"


def through_latin1(text: str) -> str:
    return text.encode("utf-8").decode("latin-1")


def through_cp1252(text: str) -> str:
    """As a browser reads it: the bytes windows-1252 leaves undefined read as latin-1."""
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b)
                   for b in text.encode("utf-8"))


def test_the_byte_signature_finds_the_same_pairs_as_the_text_signature():
    # Every lead character against every character up to U+2200 (windows-1252's all below).
    for lead in map(chr, range(0xC0, 0xF0)):
        for code in range(0x20, 0x2200):
            if 0xD800 <= code < 0xE000:
                continue
            pair = lead + chr(code)
            assert bool(MOJIBAKE.search(pair)) == bool(MOJIBAKE_UTF8.search(pair.encode())), \
                repr(pair)


def test_utf8_read_as_latin1_or_windows_1252_is_decoded_again():
    assert mend_mojibake(through_latin1(MEANT)) == MEANT
    assert mend_mojibake(through_cp1252("Investor’s guide — “the long view”")) \
        == "Investor’s guide — “the long view”"
    assert mend_mojibake(through_latin1(through_latin1("Grandma’s"))) == "Grandma’s"  # twice


def test_each_piece_of_a_page_is_mended_alone():
    page = (f"<title>{through_latin1('Investor’s guide')}</title>"
            "<p>Tom Křížek, NESCAFÉ®, a fiancé—a good way, 東京都</p>"
            f"<p>{through_cp1252('It’s “here”')}</p><script>s.replace('â€™', \"'\")</script>")
    mended = mend_mojibake(page)
    assert "<title>Investor’s guide</title>" in mended
    assert "<p>Tom Křížek, NESCAFÉ®, a fiancé—a good way, 東京都</p>" in mended
    assert "<p>It’s “here”</p>" in mended


def test_text_that_only_looks_like_mojibake_is_kept():
    # The signature is only where ftfy looks: it shows on all of these but "NÃO" and "東京都".
    for text in ("Tom Křížek", "NESCAFÉ® Classic", "with your fiancé—a good way", "Soulé’s",
                 "NÃO HÁ VAGAS", "東京都", "Ø ÿ ü ×"):
        assert mend_mojibake(text) == text
    assert shows_mojibake("Tom Křížek".encode()) and not shows_mojibake("NÃO, 東京都".encode())


def test_a_page_of_a_megabyte_of_mojibake_is_mended_in_one_pass():
    # Linear: a megabyte on one line, and thirty thousand pieces (each ~0.2-0.6 s of CPU on
    # the 2-core machine; a quadratic search would not finish within the test's timeout).
    line = through_latin1(MEANT + " ") * (1_000_000 // len(MEANT))
    assert mend_mojibake(line) == (MEANT + " ") * (1_000_000 // len(MEANT))
    pieces = f"<p>{through_latin1(MEANT)}</p>" * 30_000
    assert mend_mojibake(pieces) == f"<p>{MEANT}</p>" * 30_000
