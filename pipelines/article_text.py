"""The newsmill engine: trafilatura's text, then less of what is not the article.

Where plain trafilatura (its defaults) loses on the shared corpora (benchmarks/README.md,
"Extraction quality"): readers' comments it keeps (on by default); the body it misses in
part on pages that are not news (guides, reviews, company posts), where its recall mode
finds more; the headline and template lines around the body; and lines whose shape gives
them away as the site's, not the article's: "Related:"/"Read more:" lines and the link
list under them, newsletter and follow-us lines, credits, comment counters.

So: trafilatura in its recall mode without comments; its balanced mode too where that
text is short (under SECOND_MODE_CHARS), the longer of the two kept, and where the page's
paragraphs hold far more than that, the recall mode once more on the page with its
containers' class names stripped (trafilatura discards a container named like a footer or
a slide show, which is sometimes the article's); then the headline
lines, boilerplate lines and repeated long lines are dropped, and the template's lines
that the page's links give away (pipelines/template_lines.py). No rule names a site, a URL
or a page; each is a shape of line that news and blog templates share.
"""

from __future__ import annotations

import functools
import re

from lxml import etree

from pipelines.template_lines import drop_template_lines, link_texts
from pipelines.trafilatura_modes import mode_text, prune_page

# Below this many characters once cleaned, the recall mode's text may be a fragment of
# the body (a box, a teaser) where the balanced mode finds the article: both are run and
# the longer kept. trafilatura's own bound for retrying a short extraction in another mode
# is 3,000 (ESCALATION_MAX_LENGTH); 3,500 was chosen by cross-validation by site on both
# corpora (benchmarks/extraction_cv.py), and costs the second run on ~15% of pages.
SECOND_MODE_CHARS = 3500

# A line of at least this many words met again further down is the template repeating
# itself (a teaser, a pull quote, a caption printed twice), not more of the article.
REPEAT_MIN_WORDS = 10

# A boilerplate line is short: a paragraph that merely mentions a newsletter is not one.
MAX_BOILERPLATE_WORDS = 40

# Lines that introduce links to other articles ("Related: ...", "Read more: ..."), alone or
# followed by the linked headline on the same line.
_LINK_LEAD = re.compile(
    r"^\[?\s*(related( posts?| stories| articles| content| coverage)?|read more|read also|"
    r"see more|see also|more|also read|recommended|you may also like|you might also like|"
    r"don'?t miss|more from [^:]{1,40}|further reading|more on this( story)?)\s*(:|\.\.\.|…|$)",
    re.IGNORECASE)
# The short items of a link list (trafilatura writes list items with "- ").
_LIST_ITEM = re.compile(r"^-\s")
# Calls to subscribe, sign up, follow, share: the site speaking, not the article. A call
# counts where it starts a sentence (an article may well say that readers "signed up" or
# that investors were "subscribing"); a few marks count anywhere.
_CALL = re.compile(
    r"(subscribe\b|sign up\b|click here\b|download (the|our) app\b|"
    r"get the (latest|day\W?s)\b|share this (article|story)\b|"
    r"follow (us|him|her|them|me)\b|follow @|follow [^.]{1,60}\bon (twitter|facebook|instagram|"
    r"linkedin|youtube)\b|email\b[^.]{0,60}@)",
    re.IGNORECASE)
_SENTENCE_START = re.compile(r"[.!?:…]\s+")
_MARKS = ("all rights reserved", "©", "non-commercial use")
_INBOX = re.compile(r"delivered (\w+ )?to your inbox", re.IGNORECASE)
# Credits that agencies and papers append: "(Reporting by ...)", "Editing by ...",
# "Contributing: ...", "... contributed to this report", "SOURCE: ...".
_CREDIT_START = re.compile(
    r"\(?\s*((additional )?reporting by|writing by|editing by|edited by|compiled by|"
    r"contributing:|source:|sources:)", re.IGNORECASE)
_CONTRIBUTED = re.compile(
    r"contributed (to )?(this )?report(ing)?\.?\)?$|\bwriters? .{0,200} contributed\b",
    re.IGNORECASE)


def _promo(line: str) -> bool:
    """A call to subscribe, follow... starting one of the line's sentences, or a mark."""
    lower = line.casefold()
    if any(mark in lower for mark in _MARKS) or ("inbox" in lower and _INBOX.search(line)):
        return True
    # (Written as a match at each sentence start: one pattern searched with the start
    # in front tried every branch at every character, 0.2 ms of a page.)
    return bool(_CALL.match(line)) or any(
        _CALL.match(line, m.end()) for m in _SENTENCE_START.finditer(line))


def _credit(line: str) -> bool:
    return bool(_CREDIT_START.match(line)) or ("contribut" in line.casefold()
                                               and bool(_CONTRIBUTED.search(line)))


# A separator rule ("___", "***") or a comment counter ("Comments", "3 comments").
_SEPARATOR = re.compile(r"^\W{3,}$|^\d*\s*comments?$|^leave a (reply|comment)$", re.IGNORECASE)

_WORD = re.compile(r"\w+")
# Matches a line of more than MAX_BOILERPLATE_WORDS words (counted as _WORD counts them:
# each run of word characters is followed by non-word ones or is the last), reading no
# further than the word after the limit: most lines of an article are paragraphs of
# 40 words or more, and counting all their words was half of clean_text's time.
_MORE_THAN_BOILERPLATE_WORDS = re.compile(rf"\W*(?:\w+\W+){{{MAX_BOILERPLATE_WORDS}}}\w")


def newsmill_text(tree, url: str, options: dict, titles: list[str]) -> str | None:
    """The article's body text from a parsed page, or None when there is none.

    The page's split body is joined here (join_split_body) for the first run.

    `titles` are the headlines the page declares (og:title, <title>, <h1>, and the title
    its feed or sitemap gave): text lines equal to one of them at the top of the body are
    the headline, stored apart. (trafilatura copies the tree it is given: `tree` is
    extracted from twice unchanged.)
    """
    joined = join_split_body(tree)
    # Pruned once for both runs where the page was not joined (pipelines/trafilatura_modes).
    pruned = prune_page(joined, options.get("include_comments", False))
    text = clean_text(_trafilatura_text(joined, url, options, "recall", pruned), titles)
    if len(text) < SECOND_MODE_CHARS:
        # On the page as it is: where the chunks joined were not one body, this run
        # still finds the article (a callers' tree joined already is joined no further).
        if joined is not tree and pruned is not None:
            pruned = prune_page(tree, options.get("include_comments", False))
        balanced = clean_text(_trafilatura_text(tree, url, options, "balanced", pruned), titles)
        if len(balanced) > len(text):
            text = balanced
        text = _text_of_discarded_body(tree, url, options, titles, text)
    text = drop_repeated_lines(text)
    if text:
        text = drop_template_lines(text, link_texts(tree), titles)
    return text or None


# A page's paragraphs hold at least this many characters, and this many times the text
# found, before its body is looked for in containers trafilatura discarded.
MIN_PAGE_PROSE_CHARS = 1500
MIN_PROSE_RATIO = 2
_PARAGRAPH_TEXT = etree.XPath("//p//text()")
# The classes and ids that still mark readers' comments once the others are stripped.
_COMMENTS_MARK = re.compile(r"comment|reply|respond|discuss|disqus", re.IGNORECASE)


def _text_of_discarded_body(tree, url: str, options: dict, titles: list[str], text: str) -> str:
    """`text`, or the longer text trafilatura's recall mode finds once the classes and
    ids of the paragraphs' containers are stripped, where the page's paragraphs hold
    far more than `text`.

    trafilatura discards containers whose class or id holds a template's word ("footer",
    "slide", "embed", "table"...) before it looks for the body; on some pages that word
    marks the container of the article itself (venue reviews in a "page-footer", a
    listicle's slides), and what is left is a box of a few lines (recall under 0.3 on such
    pages of the web-content corpus). Readers' comments keep their marks. Run only where
    the text is short already (one more extraction, on ~4% of the corpora's pages).
    """
    from copy import deepcopy

    if sum(map(len, _PARAGRAPH_TEXT(tree))) < max(MIN_PAGE_PROSE_CHARS, MIN_PROSE_RATIO * len(text)):
        return text
    stripped = deepcopy(tree)
    for paragraph in stripped.iter("p"):
        for container in paragraph.iterancestors():
            for name in ("class", "id"):
                value = container.get(name)
                if value is not None and not _COMMENTS_MARK.search(value):
                    del container.attrib[name]
    # Without trafilatura's fallback extractors (fast=True): the same text on the corpora's
    # pages where this runs, at half the cost.
    found = clean_text(_trafilatura_text(stripped, url, options, focus="recall", fast=True), titles)
    return found if len(found) > len(text) else text


def _trafilatura_text(tree, url: str, options: dict, focus: str, pruned=None,
                      fast: bool = False) -> str:
    """trafilatura's text of `tree` in the `focus` mode; from `pruned` (prune_page(tree))
    where there is one (not with `fast`: no fallback extractors, bare_extraction's own)."""
    from trafilatura import bare_extraction

    if pruned is not None and not fast and focus in ("recall", "balanced"):
        return mode_text(pruned, url, focus, options.get("include_tables", True))
    document = bare_extraction(
        tree, url=url, with_metadata=False, fast=fast,
        favor_precision=focus == "precision", favor_recall=focus == "recall",
        include_comments=options.get("include_comments", False),
        include_tables=options.get("include_tables", True),
    )
    if document is None or document.body is None:
        return ""
    text = document.text or ""
    if document.commentsbody is not None and document.comments:
        text = f"{text}\n{document.comments}".strip()
    return text


def drop_repeated_lines(text: str, min_words: int | None = None) -> str:
    """`text` without the second and later copies of a line of `min_words` words or more."""
    min_words = REPEAT_MIN_WORDS if min_words is None else min_words
    seen: set[str] = set()
    keep = []
    for line in text.split("\n"):
        key = _key(line)
        if key in seen and key.count(" ") + 1 >= min_words:
            continue
        seen.add(key)
        keep.append(line)
    return "\n".join(keep)


# The rules clean_text applies (each can be left out to measure what it gains alone:
# benchmarks/README.md).
RULES = frozenset({"title", "links", "promo", "credit", "separator"})


def clean_text(text: str, titles: list[str], rules=RULES) -> str:
    """`text` without its headline lines and boilerplate lines (see the module docstring)."""
    lines = text.split("\n")
    titles_seen = {key for key in map(_key, filter(None, titles)) if key}
    keep: list[str] = []
    in_links = False
    for n, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if "title" in rules and not keep and n < 3 and _key(stripped) in titles_seen:
            continue  # the headline, at the top
        # Words are counted only for the lines a pattern picked out (a few a page).
        if in_links and _LIST_ITEM.match(stripped) and _words(stripped) <= 25:
            continue  # an item of the link list under a "Related:" line
        in_links = False
        if "links" in rules and _LINK_LEAD.match(stripped) and _words(stripped) <= 25:
            in_links = True
            continue
        if not _MORE_THAN_BOILERPLATE_WORDS.match(stripped) and (
                ("promo" in rules and _promo(stripped))
                or ("credit" in rules and _credit(stripped))):
            continue
        if "separator" in rules and _SEPARATOR.match(stripped):
            continue
        keep.append(line)
    return "\n".join(keep) if keep else text


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _key(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


_TITLE_TEXT = etree.XPath("title/text()")
_TITLE_PARTS = re.compile(r"\s+[|\-–—:·»]\s+")


def page_titles(tree, declared: str | None) -> list[str]:
    """The headlines a page gives: its declared title, <title> and its parts, <h1>s.

    The <head>s and <h1>s are found in one walk of the page (in lxml's C code); the two
    XPath searches of the whole page ("//head/title/text()", "//h1") each walked it.
    """
    titles = [declared] if declared else []
    title = None
    h1s = []
    for element in tree.iter("head", "h1"):
        if element.tag == "h1":
            h1s.append(element)
        elif title is None:
            title = next(iter(_TITLE_TEXT(element)), None)
    if title is not None:
        titles.append(title)
        titles.extend(_TITLE_PARTS.split(title))
    titles.extend(h1.text_content() for h1 in h1s[:3])
    return titles


# A chunk of a split body holds prose: at least this many characters in its paragraphs.
MIN_CHUNK_CHARS = 200


def join_split_body(tree):
    """The tree with an article body split into several containers joined into the first.

    Some templates cut the body into chunks of one kind (the same element and class,
    cousins under one wrapper) with advertisements between them; trafilatura takes the
    first container its body expressions find and loses the rest (half of the text on
    such pages of the corpus). Chunks are joined only when each holds prose and they sit
    side by side (a common ancestor within three levels): teasers of other articles that
    share a class are neither. Returns `tree` itself when nothing is to be joined, else a
    joined copy (the caller's tree is still read for metadata).
    """
    from copy import deepcopy

    elements, test = _body_candidates(tree)
    first = next((e for e in elements if test(e)), None)
    if first is None or not first.get("class"):
        return tree
    kind = (first.tag, first.get("class"))
    chunks = [first]
    # The elements after the first container: only those of its kind can be chunks, so
    # the others are not tested (the test is most of this function's cost).
    for match in elements:
        if (match.tag, match.get("class")) != kind or not test(match) or any(
                c in match.iterancestors() or match in c.iterancestors() for c in chunks):
            continue  # another kind of container, not a body, or one inside a chunk
        if _near(first, match) and _prose_chars(match) >= MIN_CHUNK_CHARS:
            chunks.append(match)
    if len(chunks) < 2 or _prose_chars(first) < MIN_CHUNK_CHARS:
        return tree
    root = tree.getroottree()
    paths = [root.getpath(c) for c in chunks]
    joined = deepcopy(tree)
    joined_root = joined.getroottree()
    target, *rest = (joined_root.xpath(p)[0] for p in paths)
    for chunk in rest:
        if chunk.text and chunk.text.strip():  # its text before its first child
            lead = target.makeelement("p", {})
            lead.text = chunk.text
            target.append(lead)
        for child in list(chunk):
            target.append(child)
        chunk.drop_tree()  # lxml.html's: the text after the chunk stays where it was
    return joined


_CONTAINER_TAGS = ("article", "div", "main", "section")


@functools.cache
def _body_test():
    """The test of trafilatura's first body expression (xpaths.BODY_XPATH[0]) in Python.

    That expression tests every element of the page with EXSLT regular expressions, which
    lxml runs as Python callbacks: ~0.9 ms of a benchmark page, 5% of its extraction. Its
    own conditions (classes, ids, itemprop), read from its text, are tested in Python on
    the ~140 article/div/main/section elements of a page (~2 µs an element on the 2-core
    machine; join_split_body tests about half of them). None where its text has another
    shape (another trafilatura version): the expression is then run itself.
    """
    from trafilatura.xpaths import BODY_XPATH

    path = BODY_XPATH[0].path
    equal = re.findall(r"@(class|id|itemprop)\s*=\s*'([^']*)'", path)
    patterns = re.findall(r"re:test\(@(class|id),\s*'([^']*)'\)", path)
    if not patterns or "self::section" not in path:
        return None
    values: dict[str, set] = {}
    for name, value in equal:
        values.setdefault(name, set()).add(value)
    searches: dict[str, list] = {}
    for name, pattern in patterns:
        searches.setdefault(name, []).append(f"(?:{pattern})")
    # Per attribute: the values it may equal and one search for all its patterns, looked
    # up once here rather than for every element.
    checks = tuple(
        (name, frozenset(values.get(name, ())),
         re.compile("|".join(searches[name])).search if name in searches else None)
        for name in sorted(set(values) | set(searches)))

    def test(element) -> bool:
        get = element.get
        for name, equal, search in checks:
            value = get(name)
            if value is not None and (value in equal or (search is not None and search(value))):
                return True
        return False

    return test


def _body_candidates(tree):
    """The elements to test, in document order (an iterator), and the test: what
    trafilatura's first body expression finds are those that pass it."""
    test = _body_test()
    if test is None:
        from trafilatura.xpaths import BODY_XPATH

        return iter(BODY_XPATH[0](tree)), lambda element: True
    return tree.iter(*_CONTAINER_TAGS), test


def _body_containers(tree) -> list:
    """The article/div/main/section elements trafilatura's first body expression finds
    (with their same-kind siblings), in document order."""
    elements, test = _body_candidates(tree)
    return [e for e in elements if test(e)]


def _near(a, b, levels: int = 3) -> bool:
    ancestors = list(a.iterancestors())[:levels]
    return any(x in ancestors for x in list(b.iterancestors())[:levels])


_PROSE = etree.XPath(".//p//text()")


def _prose_chars(element) -> int:
    return sum(map(len, _PROSE(element)))
