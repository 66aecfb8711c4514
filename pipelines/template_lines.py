"""Lines of a page's template left in the article text, recognised with the page's links.

trafilatura's recall mode (the newsmill engine's first run: pipelines/article_text.py) finds
the whole body on pages that are not news, but keeps some of the template around it on news
pages: lists of other stories' headlines, the headline printed again, date lines, metadata
dumped as text. Most of these are links on the page, which the text alone does not show:
a line that is the whole text of a link, beside another such line above or below the
article's paragraphs, is a teaser list (a heading that is a link stands alone above its
paragraph, and a list of links between paragraphs may be the article's sources: both
kept). Each rule is a shape that templates share; none names a site. Measured on both shared corpora, with
cross-validation by site: benchmarks/README.md, "Extraction quality".
"""

from __future__ import annotations

import functools
import re

from lxml import etree

_WORD = re.compile(r"\w+")

# A teaser is a headline: a few words to a sentence or two, not closed as a sentence is.
MIN_LINK_WORDS = 3
MAX_LINK_WORDS = 30
# ... at least this share of its words in links' texts ("The strange life and <a>mysterious
# death of a virtuoso coder</a>": the teaser's link may be part of its line).
MIN_LINK_SHARE = 0.5
_CLOSED = re.compile(r"[.!?:;][\"”’)]?\s*$")
# At least this many list items at the end of the text, each opening with a link's text
# (the headline linked, its summary not), are a list of other stories.
MIN_TEASER_ITEMS = 3
# ... or with this share of its words in links, this many in one ("- Prepare for the
# deepfake era of video; plus, check out the latest news on AI": a headline linked, more
# words around it).
MIN_ITEM_LINK_SHARE = 0.3
MIN_ITEM_LINK_WORDS = 4
MAX_OTHER_ITEMS = 1
# The article's prose: the lines of this many words or more closed as sentences are. Runs of
# links are dropped above its first such line and below its last.
PROSE_WORDS = 20
# A run of links below the prose goes with the short line above it, its heading.
MAX_HEADING_WORDS = 5
# Date lines are looked for among the first and last few lines (where templates put them;
# a date line inside the body may be a dated entry of the article).
EDGE_LINES = 3
MAX_DATE_LINE_WORDS = 14

# Written here rather than with htmldate (trafilatura's): it finds a page's date, not
# whether a line is a date and nothing else, and a few patterns on six lines cost nothing.

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATE = re.compile(
    rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}}"
    r"|\b\d{4}-\d{2}-\d{2}(?:T[\d:.+\-Z]+)?|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b"
    r"|\b\d{1,2}:\d{2}(?:\s*[ap]\.?m\.?)?", re.IGNORECASE)
# The words a date line has besides its date ("Updated: Tue., Nov. 19, 2019 08:38 AM").
_DATE_WORDS = frozenset(
    "updated published posted on at by am pm a m p utc gmt est edt ist cet bst last modified "
    "date first ago hour hours minute minutes min mins day days read mon tue tues wed thu thur "
    "fri sat sun monday tuesday wednesday thursday friday saturday sunday".split())
# A line that is only a URL or a timestamp: page metadata printed as text.
_URL_OR_TIMESTAMP = re.compile(r"^\s*(?:\S+://\S+|\d{4}-\d{2}-\d{2}T[\d:.+\-Z]+)\s*$")

_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
# Between the fields of a metadata line: a bar, a dash or a dot set apart by spaces.
_FIELD_SEPARATOR = re.compile(r"\s+[|\-–—·•]\s+")

# A headline opening a table cell (pipelines/template_lines._without_headline_cell): of
# this many words at least, its dateline within this many characters after it.
MIN_CELL_HEADLINE_WORDS = 4
DATELINE_CHARS = 60
_TIME_ZONE = re.compile(r"^\w*\s*(?:[A-Z]{2,4}\b)?")  # the rest of "AMT" after its "AM"

# A line that is one identifier: lower-case words joined by hyphens, no spaces.
_IDENTIFIER = re.compile(r"^\s*(?:- )?[a-z0-9]+(?:-[a-z0-9]+)+\s*$")
MIN_IDENTIFIER_LINES = 3
MIN_CONTACT_FIELDS = 5
# A line of tags: at least this many between commas, that share of its words in links.
MIN_TAGS = 5
_SERIES_END = re.compile(r",\s*(?:and|or|&)\s", re.IGNORECASE)
MIN_TAG_LINE_SHARE = 0.9

_COOKIE_NOTICE = re.compile(r"\b(?:we|(?:this|our) (?:web)?site) uses? cookies\b", re.IGNORECASE)

_LINKS = etree.XPath("//a")


def link_texts(tree) -> frozenset[str]:
    """The texts of the page's links of two words or more, as _key writes them."""
    texts = set()
    for a in _LINKS(tree):
        key = _key("".join(a.itertext()))
        if key.count(" ") + 1 >= 2:
            texts.add(key)
    return frozenset(texts)


def drop_template_lines(text: str, links: frozenset[str], titles: list[str]) -> str:
    """`text` without the template's lines: runs of links, a closing list of linked
    headlines, link lines in capitals, the headline again, date and metadata lines at
    either end, lines that are only a URL or a timestamp, runs of identifiers, a footer's
    contact line, a line of tags, a cookie notice below the article, the headline and
    dateline opening a table cell that holds the page. `text` itself if nothing would
    be left."""
    lines = [line for line in text.split("\n") if line.strip()]
    keys = [_key(line) for line in lines]
    count = len(lines)
    headlines = {key for key in map(_key, filter(None, titles)) if key}
    drop = set()

    prose = [n for n in range(count) if _is_prose(lines[n], keys[n])]
    first, last = (prose[0], prose[-1]) if prose else (count, -1)

    def teaser(n: int) -> bool:
        words = keys[n].count(" ") + 1
        return (MIN_LINK_WORDS <= words <= MAX_LINK_WORDS and not _CLOSED.search(lines[n])
                and (keys[n] in links or _link_share(keys[n], links) >= MIN_LINK_SHARE))

    # Only where a rule reads it (the lines above or below the prose, lines in capitals):
    # the share of a line in links is the costly test.
    linked = [(n < first or n > last or lines[n].upper() == lines[n]) and teaser(n)
              for n in range(count)]
    start = 0
    while start < count:
        end = start
        while end < count and linked[end]:
            end += 1
        # Two or more in a row, or the last lines, above or below the article's prose (a
        # list of links between its paragraphs is more often the article's own: sources,
        # further reading).
        if (end <= first or start > last) and (end - start >= 2 or (end > start and end == count)):
            drop.update(range(start, end))
            if start - 1 > last and _heading(lines[start - 1], keys[start - 1]):
                drop.add(start - 1)  # the run's heading ("More stories")
        start = max(end, start + 1)

    for n, line in enumerate(lines):
        if linked[n] and line.upper() == line:
            drop.add(n)  # "SEAN SPICER ELIMINATED FROM ...": a teaser set in capitals
        elif keys[n] in headlines or _URL_OR_TIMESTAMP.match(line):
            drop.add(n)
        elif (n < EDGE_LINES or n >= count - EDGE_LINES) and _date_line(line, keys[n]):
            drop.add(n)

    # Runs of the page's identifiers printed as text ("- landscape-tablet-and-above": CSS
    # breakpoint names a script lists), and a footer's contact line at the end.
    start = 0
    while start < count:
        end = start
        while end < count and _IDENTIFIER.match(lines[end]):
            end += 1
        if end - start >= MIN_IDENTIFIER_LINES:
            drop.update(range(start, end))
        start = max(end, start + 1)
    for n in range(max(count - EDGE_LINES, last + 1), count):
        if _contact_line(lines[n]):
            drop.add(n)
    # A line of tags: the texts of links and nothing else, between commas, with its heading.
    for n in range(count):
        if lines[n].count(",") + 1 >= MIN_TAGS and _tag_line(lines[n], keys[n], links):
            drop.add(n)
            if n and _heading(lines[n - 1], keys[n - 1]):
                drop.add(n - 1)

    # The closing list of other stories: list items at the end of the text that open with
    # a link's text or are headlines linked in part, below one other item at most (the
    # list's last item is often the site's own call, unlinked).
    items, teasers, others = [], 0, 0
    for n in range(count - 1, -1, -1):
        if not lines[n].lstrip().startswith("- "):
            break
        if _opens_with_link(keys[n], links) or _teaser_item(lines[n], keys[n], links):
            teasers += 1
        elif teasers or others == MAX_OTHER_ITEMS:
            break
        else:
            others += 1
        items.append(n)
    if teasers >= MIN_TEASER_ITEMS:
        drop.update(items)

    # A cookie consent notice printed below the article: from its first line ("We use
    # cookies on our website...") to the end, each line about cookies or a short button
    # (its lines are sentences, so may be below the last line of the article's prose).
    for n in range(count // 2 + 1, count if "ookie" in text else 0):
        if _COOKIE_NOTICE.search(lines[n]):
            if all("cookie" in keys[m] or keys[m].count(" ") < MAX_HEADING_WORDS
                   for m in range(n, count)):
                drop.update(range(n, count))
            break

    keep = [line for n, line in enumerate(lines) if n not in drop]
    if keep and keep[0].startswith("|"):
        keep[0] = _without_headline_cell(keep[0], headlines)
    return "\n".join(keep) if keep else text


def _without_headline_cell(line: str, headlines: set[str]) -> str:
    """The first line without the headline and dateline it opens with, where it is a
    table cell holding all of the page ("| Headline November 20, 2019 - 11:28 GMT
    Body..."): trafilatura keeps a layout table's cell as one line."""
    key = _key(line)
    for headline in headlines:
        if headline.count(" ") + 1 >= MIN_CELL_HEADLINE_WORDS and key.startswith(headline + " "):
            break
    else:
        return line
    words = list(_WORD.finditer(line))
    rest = line[words[headline.count(" ")].end():]
    date = _DATE.search(rest, 0, DATELINE_CHARS)
    while date:
        rest = rest[date.end():]
        date = _DATE.match(rest, len(rest) - len(rest.lstrip(" -|,·")))
    return _TIME_ZONE.sub("", rest, count=1).lstrip(" -|,·") or line


def _is_prose(line: str, key: str) -> bool:
    """A paragraph: PROSE_WORDS words or more, closed as a sentence is."""
    return key.count(" ") + 1 >= PROSE_WORDS and bool(_CLOSED.search(line))


def _heading(line: str, key: str) -> bool:
    """A short line not closed as a sentence, not a list's item (the last of the
    article's own list is not the heading of the links below it)."""
    return (0 < key.count(" ") + 1 <= MAX_HEADING_WORDS and not _CLOSED.search(line)
            and not line.lstrip().startswith("- "))


def _link_share(key: str, links: frozenset[str]) -> float:
    """The share of the line's words inside the texts of links (of two words or more),
    matched from the left, longest first."""
    covered, _ = _linked_words(key, links)
    return covered / (key.count(" ") + 1)


def _linked_words(key: str, links: frozenset[str]) -> tuple[int, int]:
    """The words of the line inside links' texts, and the most in one link."""
    words = key.split(" ")
    covered = start = longest = 0
    # No match is longer than the longest link: without that bound a long line (a
    # paragraph of a thousand words) costs its length cubed, minutes on some pages.
    reach = _longest_link(links)
    while start < len(words) - 1:
        for end in range(min(len(words), start + reach), start + 1, -1):
            if " ".join(words[start:end]) in links:
                covered += end - start
                longest = max(longest, end - start)
                start = end
                break
        else:
            start += 1
    return covered, longest


@functools.lru_cache(maxsize=8)
def _longest_link(links: frozenset[str]) -> int:
    """The words of the longest link text (a page's set is read once per line)."""
    return max((text.count(" ") + 1 for text in links), default=0)


def _teaser_item(line: str, key: str, links: frozenset[str]) -> bool:
    """A list item that is another story's headline with a few words around it: a
    headline-long link (not a name) making a good share of it, not closed by a full stop
    and without a URL (a list of sources or references is the article's own)."""
    if line.rstrip().endswith(".") or "://" in line:
        return False
    covered, longest = _linked_words(key, links)
    return longest >= MIN_ITEM_LINK_WORDS and covered >= MIN_ITEM_LINK_SHARE * (key.count(" ") + 1)


def _opens_with_link(key: str, links: frozenset[str]) -> bool:
    words = key.split(" ")
    return any(" ".join(words[:n]) in links
               for n in range(MIN_LINK_WORDS, min(len(words), MAX_LINK_WORDS) + 1))


def _date_line(line: str, key: str) -> bool:
    """A line that is a date and little else ("Published 18 November 2019"), or a line
    of metadata fields one of which is such a date ("New Delhi, Bureau | Updated: 19
    November 2019, 09:01 AM", "05/10/2018 - Posted by: A. Name - Category: Health")."""
    if key.count(" ") + 1 > MAX_DATE_LINE_WORDS:
        return False
    parts = _FIELD_SEPARATOR.split(line)
    return any(map(_date_part, parts)) if len(parts) > 1 else _date_part(line)


def _tag_line(line: str, key: str, links: frozenset[str]) -> bool:
    """Link texts between commas, nothing else: not a title's series ("Renovate, Remodel,
    Rebuild: Pros, Cons, and How To Decide"), not a sentence."""
    if _CLOSED.search(line) or _SERIES_END.search(line):
        return False
    return _link_share(key, links) >= MIN_TAG_LINE_SHARE


def _contact_line(line: str) -> bool:
    """A footer's line of fields, two in five of its words numbers ("Town - CNPJ:
    83.102.459/0001-23 - Street, 1111 - 89259-565 - Phone: (047) 2106-800"); not a
    table's row, not a sentence."""
    if line.lstrip().startswith("|") or _CLOSED.search(line):
        return False
    if len(_FIELD_SEPARATOR.findall(line)) + 1 < MIN_CONTACT_FIELDS:
        return False
    words = _WORD.findall(line)
    return 5 * sum(w.isdigit() for w in words) >= 2 * len(words)


def _date_part(line: str) -> bool:
    """A date and little else: in English with at most one other word besides the ones
    dates go with; in any language, a year and two in five of its words numbers
    ("segunda-feira, 22 de janeiro de 2018 às 0:13"), not closed as a sentence."""
    if _DATE.search(line):
        rest = _WORD.findall(_DATE.sub(" ", line).casefold())
        if sum(1 for w in rest if w not in _DATE_WORDS and not w.isdigit()) <= 1:
            return True
    if not _YEAR.search(line) or _CLOSED.search(line):
        return False
    words = _WORD.findall(line)
    numbers = sum(w.isdigit() for w in words)
    return numbers >= 2 and 5 * numbers >= 2 * len(words)


def _key(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))
