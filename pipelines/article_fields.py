"""The article's headline, author and publication day, chosen among the page's own signals.

A page says these things several times and not always alike: `og:title` and `<title>`
carry the site's name ("... | Example Times") or an SEO variant of the headline, the
`<h1>` is the headline readers see; a declared author is often a profile URL or the
publisher itself; a declared date is often a template's or an update's. read_page_metadata
reads what the page declares, trafilatura what it finds; choose_fields weighs the two
against the visible page (headline, byline, dateline, URL) and keeps what a reader of the
page would call its title, author and date. No rule names a site.
"""

from __future__ import annotations

import html
import itertools
import json
import re
from datetime import date
from typing import NamedTuple
from urllib.parse import urlsplit

_WORD = re.compile(r"\w+")
# What sites put between a headline and their name in <title> and og:title.
_SEPARATOR = re.compile(r"\s+(?:[|\-–—•·»:~/]|::|&[a-z]+;)\s+|\s*\|\s*")
_MAX_HEADLINE_CHARS = 300
# An <h1> is the headline when at least this share of its words are in the page's titles.
H1_OVERLAP = 0.3


def choose_fields(tree, url: str, page: dict, found) -> dict:
    """`page` with its `title`, `author` and `published` replaced by the chosen ones.

    `page` is read_page_metadata's reading, `found` trafilatura's Document (its title,
    author, date); either may lack any field. Fields nothing supports are left out;
    `found.author`, weighed here, is cleared. `organisations` lists the site's and
    publisher's names, which clean_author refuses as authors.
    """
    signals = _page_signals(tree, url, page)
    signals.update(modified=page.get("modified"), tree=tree)
    chosen = dict(page)
    title = choose_title(signals, page.get("title"), getattr(found, "title", None))
    if title:
        chosen["title"] = title
    element = headline_element(tree, title)
    before, after = text_around(tree, element) if element is not None else ("", "")
    month_first = signals["lang"] in ("", "en-us", "en")
    shown = [parse_visible_date(after, month_first),
             parse_visible_date(before[-DATELINE_BEFORE:], month_first)]
    published = choose_published(signals, page.get("published"), getattr(found, "date", None),
                                 *[d for d in shown if d])
    if published:
        chosen["published"] = published
    author, weak = choose_author(signals, page.get("author"), getattr(found, "author", None),
                                 (before, after))
    if author and not weak:
        author = writer_over_desk(tree, author, signals)
    if author:
        chosen["author"] = author
    else:
        chosen.pop("author", None)
    chosen["author_is_weak"] = weak
    if not author or weak:  # a search of the whole page, only where no person was named
        chosen["author_fallback"] = fallback_author(tree, signals, weak=bool(author))
    else:
        chosen["author_fallback"] = (None, None)
    if found is not None:
        found.author = None  # weighed above: refused, or taken already
    chosen["organisations"] = signals["organisations"]
    return chosen


def _words(text: str | None) -> list[str]:
    return _WORD.findall((text or "").casefold())


def _clean(text: str | None) -> str | None:
    """Whitespace collapsed and entities a template escaped twice (`&amp;#8217;`) undone."""
    if not isinstance(text, str):
        return None
    text = " ".join(html.unescape(text).split())
    return text or None


def _page_signals(tree, url: str, page: dict) -> dict:
    """What the choices weigh, read in one walk of the page."""
    host = (urlsplit(url or "").hostname or "").removeprefix("www.")
    meta: dict = {}
    h1s: list[str] = []
    kickers: dict[str, str] = {}  # an <h1>'s text -> the line its first child element sets
    run_together: set[str] = set()  # <h1>s whose lines ran together ("AlternativesTop")
    title = None
    for element in tree.iter("meta", "h1", "title"):
        if element.tag == "meta":
            key = (element.get("property") or element.get("name") or "").lower()
            if key and key not in meta and element.get("content"):
                meta[key] = element.get("content")
        elif element.tag == "h1":
            raw, glued = _text_with_breaks(element)
            text = _clean(raw)
            if text and len(text) <= _MAX_HEADLINE_CHARS:
                h1s.append(text)
                if glued:
                    run_together.add(text)
                kicker = _kicker(element)
                if kicker:
                    kickers[text] = kicker
        elif title is None and element.getparent() is not None \
                and element.getparent().tag == "head":
            title = _clean(element.text_content())
    names = [page.get("sitename"), page.get("publisher"), meta.get("og:site_name"),
             meta.get("application-name"), meta.get("twitter:site", "").lstrip("@")]
    nodes = _json_ld_nodes(tree)
    publishers = {_squash(n) for n in names if n}
    names += _json_ld_organisations(nodes)
    # An organisation declared as the author, not the site or its publisher (a
    # department, a person typed Organization), is the author the page names.
    authors = {_squash(n) for n in _json_ld_author_names(nodes)} - publishers
    organisations = [n for n in (page.get("publisher"), *_json_ld_organisations(nodes))
                     if n and _squash(n) not in authors]
    people = {_squash(n) for n in _json_ld_people(nodes)}
    organisations = [n for n in organisations if n and _squash(n) not in people]
    return {"url": url, "host": host, "meta": meta, "h1s": h1s, "title": title,
            "h1_kickers": kickers, "h1_run_together": run_together,
            "marked_authors": _marked_authors(tree, meta),
            # read only where nothing declared names the author: each walks the whole tree
            "byline_markup": lambda: _byline_markup(tree),
            "author_link": lambda: _author_link(tree, organisations),
            "site_names": [n for n in (_clean(x) for x in names) if n],
            "organisations": [n for n in (_clean(x) for x in organisations) if n],
            "lang": (tree.get("lang") or "").strip().lower(),
            "ld_published": _json_ld_published(nodes)}


def _text_with_breaks(element) -> tuple[str, bool]:
    """An element's text with a space where a `<br>` breaks it ("WEEKEND<br>CODING" is two
    words, which text_content() glues into one) or where a child element's text starts
    with a capital right after a lower-case letter: a headline and its subtitle set on two
    lines by the style sheet ("Alternatives<span>Top ..."), not "C<i>ycle</i>". Also
    whether the latter happened: those lines ran together."""
    if element.find(".//*") is None:
        return element.text_content(), False
    pieces: list[str] = []
    glued = False

    def add(text: str | None, boundary: bool) -> None:
        nonlocal glued
        if not text:
            return
        if boundary and pieces and pieces[-1][-1:].islower() and text[:1].isupper():
            pieces.append(" ")
            glued = True
        pieces.append(text)

    for node in element.iter():
        if node.tag == "br":
            pieces.append(" ")
        elif node is not element or node.text:
            add(node.text if isinstance(node.tag, str) else "", node is not element)
        if node is not element:
            add(node.tail, True)
    return "".join(pieces), glued


def _kicker(element) -> str | None:
    """The line an `<h1>`'s first child element sets before the rest of its text (a
    kicker: "<div>Get that tech stack</div><span>Klatch Coffee</span>"), else None."""
    if (element.text or "").strip():
        return None
    first = next((c for c in element if isinstance(c.tag, str)), None)
    if first is None or first.tag == "br":
        return None
    kicker = _clean(first.text_content())
    rest = (first.tail or "").strip() or any(isinstance(c.tag, str) and (c.text_content().strip())
                                            for c in first.itersiblings())
    return kicker if kicker and rest else None


_AUTHOR_META = ("parsely-author", "cxenseparse:author", "sailthru.author")


def _marked_authors(tree, meta: dict) -> list[str]:
    """Authors the page's meta tags name besides `author`: the "Written by" Twitter card
    pair, then analytics tags."""
    names = []
    for n in "1234":
        if (meta.get(f"twitter:label{n}") or "").strip().casefold() == "written by":
            names.append(meta.get(f"twitter:data{n}"))
    names += [meta.get(key) for key in _AUTHOR_META]
    return [n for n in (_clean(x) for x in names) if n]


def _byline_markup(tree) -> list[str]:
    """The names the body marks up as its author's: the first `rel="author"` link, the
    first schema.org microdata `itemprop="author"` (its `name`)."""
    names = [link.text_content() for link in tree.xpath('//a[@rel="author"][1]')]
    for element in tree.xpath('//*[@itemprop="author"][1]'):
        named = element.xpath('.//*[@itemprop="name"]')
        node = named[0] if named else element
        names.append(node.get("content") or node.text_content())
    return [n for n in (_clean(x) for x in names) if n]


_AUTHOR_PAGE = re.compile(r"/(?:author|authors|writers?|contributors?|staff|profile)/",
                          re.IGNORECASE)
_NOT_AUTHOR_LINK = frozenset("login log sign member meet learn team our all".split())


def _author_link(tree, organisations: list[str]) -> str | None:
    """The name of the first link to an author's page (/author/jane-doe): a person's name
    of two words or more, not a menu's "Meet the team"; and its co-authors', linked in the
    same byline (see _byline_box)."""
    names: list[str] = []
    box = None
    for link in tree.iter("a"):
        if not _AUTHOR_PAGE.search(link.get("href") or ""):
            continue
        name = clean_author(link.text_content(), organisations)
        if not (name and len(name.split()) in (2, 3, 4)
                and not _NOT_AUTHOR_LINK & set(_words(name)) and not _weak_author(name)):
            continue
        if not names:
            box = _byline_box(link)
        elif box is None or _byline_box(link) is not box:
            break  # another part of the page: a related post's author, a list of thanks
        if name not in names:
            names.append(name)
    return ", ".join(names) or None


def _byline_box(link):
    """The element a byline's link to an author's page is shown in, where the link is
    alone in an element of its own (<strong><a>Jane Doe</a></strong>): that element's
    parent. Co-authors' links share it ("Written by <strong><a>Jane Doe</a></strong>,
    ...<br><strong><a>Ann Roe</a></strong>, ..."); links in running text (a list of
    thanks) have none."""
    parent = link.getparent()
    if parent is not None and len(parent) == 1 and not (parent.text or "").strip() \
            and not (link.tail or "").strip():
        return parent.getparent()
    return None


def _json_ld_nodes(tree) -> list[dict]:
    """Every object of the page's JSON-LD, nested ones and @graph members included."""
    nodes = []
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            data = json.loads(script, strict=False)
        except ValueError:
            continue
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(reversed(node))
            elif isinstance(node, dict):
                nodes.append(node)
                stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
    return nodes


def _types(node: dict) -> set[str]:
    types = node.get("@type")
    return {t for t in (types if isinstance(types, list) else [types]) if isinstance(t, str)}


_ORGANISATION_TYPES = {"Organization", "WebSite", "NewsMediaOrganization", "Corporation",
                       "LocalBusiness", "EducationalOrganization", "GovernmentOrganization"}


def _json_ld_published(nodes: list[dict]) -> str | None:
    """A datePublished of any JSON-LD node (a WebPage's, where no Article is declared)."""
    from pipelines.page_metadata import page_time

    for node in nodes:
        value = node.get("datePublished")
        if isinstance(value, str) and page_time(value):
            return page_time(value)
    return None


def _json_ld_author_names(nodes: list[dict]) -> list[str]:
    """The names of the nodes JSON-LD gives as an `author`."""
    names = []
    for node in nodes:
        authors = node.get("author")
        for author in authors if isinstance(authors, list) else [authors]:
            if isinstance(author, dict) and isinstance(author.get("name"), str):
                names.append(author["name"])
    return names


def _json_ld_people(nodes: list[dict]) -> set[str]:
    return {node["name"] for node in nodes
            if "Person" in _types(node) and isinstance(node.get("name"), str)}


def _json_ld_organisations(nodes: list[dict]) -> list[str]:
    """Names of the organisations and web sites the JSON-LD describes, but for a name it
    also gives a Person (a one-person blog is its author's site)."""
    people = _json_ld_people(nodes)
    return [node["name"] for node in nodes
            if _types(node) & _ORGANISATION_TYPES and "Person" not in _types(node)
            and isinstance(node.get("name"), str) and node["name"] not in people]


# --- title ---------------------------------------------------------------------------

def _squash(text: str) -> str:
    return "".join(_words(text))


def _is_site_name(part: str, signals: dict) -> bool:
    """Whether a piece of a title is the site's name: a declared name, or the host's."""
    squashed = _squash(part)
    if not squashed:
        return True  # punctuation alone ("%", "»")
    short = len(_words(part)) <= 3
    for name in signals["site_names"]:
        named = _squash(name)
        if named and (squashed == named or (len(squashed) >= 4 and named.startswith(squashed))
                      or (short and len(named) >= 4 and squashed.startswith(named))):
            return True  # the name, its start ("Example" of "Example Times"), "Example UK"
    host = signals["host"].replace("-", "").replace(".", " ")
    labels = host.split()[:-1]  # not the top-level domain
    if squashed == "".join(labels) or squashed == host.replace(" ", ""):
        return True
    if len(squashed) >= 4 and any(squashed in label for label in labels):
        return True  # "DianaHR" on getdianahr.com
    if len(_words(part)) <= 3 and any(len(label) >= 5 and squashed.startswith(label)
                                       for label in labels):
        return True  # "Example Times UK" on exampletimes.com
    words = _words(part)
    # "Rust Blog" on blog.rust-lang.org: each word a part of the host.
    return len(words) > 1 and all(len(w) >= 3 and any(w in label for label in labels)
                                  for w in words)


def strip_site_name(title: str | None, signals: dict, others: list[str] = ()) -> str | None:
    """The title without the site's name before or after it.

    A piece split off at a separator (" | ", " - ", " • "...) goes when it is the site's
    name (declared, or the host's), or when another of the page's titles ends (or starts)
    with the same piece: a template's suffix. "... at Some Point - Kremlin" keeps its
    "- Kremlin" on a site that is not called Kremlin.
    """
    if not title:
        return None
    host = signals["host"]
    if host and "." in host and len(title) > len(host) + 1:
        # The address written before or after the headline, with no separator:
        # "example.com Vibe Coding".
        if title.casefold().startswith(host + " "):
            title = title[len(host) + 1:].strip()
        elif title.casefold().endswith(" " + host):
            title = title[:-len(host) - 1].strip()
    if " | " in title:
        # A headline seldom holds a pipe; the pieces after the longest are the site's
        # name, its section, a tagline (those before it may be a kicker: kept).
        pieces = title.split(" | ")
        longest = max(range(len(pieces)), key=lambda n: len(_words(pieces[n])))
        title = " | ".join(pieces[:longest + 1]).strip()
    parts = _SEPARATOR.split(title)
    seps = _SEPARATOR.findall(title)
    if len(parts) < 2:
        return title
    # A piece another title of the page ends (or starts) with, around other words.
    ends_of_others = set()
    for other in others:
        pieces = _SEPARATOR.split(other) if other else []
        if len(pieces) > 1 and _squash(other) != _squash(title):
            ends_of_others.update((_squash(pieces[0]), _squash(pieces[-1])))
    ends_of_others.discard("")

    def template(piece: str) -> bool:
        return _is_site_name(piece, signals) or _squash(piece) in ends_of_others

    start, end = 0, len(parts)
    while end - start > 1 and template(parts[end - 1]):
        end -= 1
    while end - start > 1 and template(parts[start]):
        start += 1
    if (start, end) == (0, len(parts)):
        return title
    kept = parts[start]
    for i in range(start + 1, end):
        kept += seps[i - 1] + parts[i]
    return kept.strip()


def _overlap(headline: str, title: str) -> float:
    """The share of the headline's words found in the title (their first 2,000
    characters: a page's title may be megabytes long, and is bounded later)."""
    words = _words(headline[:2000])
    if not words:
        return 0.0
    others = set(_words(title[:2000]))
    return sum(w in others for w in words) / len(words)


def _completed(title: str, titles: list[str]) -> str:
    """A declared headline cut off mid-phrase (a parenthesis left open, "..."): the other
    title tag that goes on with the same words."""
    if not (re.search(r"\([^)]*$", title) or title.rstrip().endswith(("...", "…"))):
        return title
    first = _words(title)
    for other in titles:
        if len(_words(other)) > len(first) and _words(other)[:len(first)] == first:
            return other
    return title


def _without_dateline(h1: str, titles: list[str]) -> str:
    """The title tags' headline where the `<h1>` is it with a date, a byline or an address
    around it ("Dec 18 2025 Preparing a release", "... (example.com)", "... Posted on
    July 1, 2024 by jdoe"): a template that put its dateline inside the headline's tag."""
    words = _words(h1)
    for title in titles:
        inner = _words(title)
        n = len(inner)
        if not inner or n >= len(words):
            continue
        for start in range(len(words) - n + 1):
            if words[start:start + n] == inner:
                rest = " ".join(words[:start] + words[start + n:])
                if parse_visible_date(rest) or re.search(r"\b(?:posted|com|org|net)\b", rest):
                    return title
                break
    return h1


_LABEL = re.compile(r"^\w+:\s*")


def _without_label(h1: str, titles: list[str], kicker: str | None = None) -> str:
    """The `<h1>` less a one-word label before a colon ("Blog: ...", "Title:...") or a
    kicker line its first child element sets, when every title tag's headline is the
    rest: the section's name or a teaser, which no copy of the headline keeps."""
    if not titles:
        return h1
    for label in (_LABEL.match(h1), kicker):
        if isinstance(label, str):
            if not h1.startswith(label):
                continue
            rest = h1[len(label):].strip()
        elif label:
            rest = h1[label.end():]
        else:
            continue
        if rest and all(_words(title) == _words(rest) for title in titles):
            return rest
    return h1


# Characters a wrong decoding leaves where one character stood: "?" or U+FFFD for a
# character the encoding lacks, "â\x80\x99" for a UTF-8 right quote (U+2019) read as Latin-1.
_GARBLED = re.compile(r"â[\x80-\x9f].|[?\ufffd]")


def _ungarbled(h1: str, titles: list[str]) -> str | None:
    """The title tag an `<h1>` is a mis-decoded copy of ("Beginner? Guide" where the tags
    say "Beginner's Guide"), else None. Hand-written: the `<h1>` lost the characters, so
    no repair of it alone (ftfy) can restore a "?"; the tags still hold them."""
    if not _GARBLED.search(h1.rstrip("?")):
        return None  # a question's own mark
    pieces = [piece for piece in re.split(f"({_GARBLED.pattern})", h1) if piece]
    for title in titles:
        if title != h1 and _copy_of(pieces, title):
            return title
    return None


def _copy_of(pieces: list[str], title: str) -> bool:
    """Whether `title` is the `<h1>` cut into `pieces` with each garbled piece standing for
    one or two characters other than "?" (case aside). The title's positions each piece can
    reach are followed all at once: a regular expression of "[^?]{1,2}" per garbled piece
    backtracks through every way to split a title it fails on (30 of them: 10 s)."""
    folded, reached = title.lower(), {0}
    for piece in pieces:
        if _GARBLED.fullmatch(piece):
            reached = {end for start in reached for end in (start + 1, start + 2)
                       if end <= len(folded) and "?" not in folded[start:end]}
        else:
            piece = piece.lower()
            reached = {start + len(piece) for start in reached if folded.startswith(piece, start)}
        if not reached:
            return False
    return len(folded) in reached


def choose_title(signals: dict, declared: str | None, found: str | None) -> str | None:
    """The headline as the page shows it (see `_chosen_title`). UTF-8 that was read as
    latin-1 is decoded again before the page is parsed (pipelines/mojibake.py)."""
    return _chosen_title(signals, declared, found)


def _chosen_title(signals: dict, declared: str | None, found: str | None) -> str | None:
    """The headline as the page shows it.

    The visible headline, an `<h1>`, is taken when it is the headline the page's title
    tags speak of (most of its words are theirs): sites rewrite `og:title` and `<title>`
    for search engines and append their name, the `<h1>` is what readers see. Otherwise the
    declared headline (JSON-LD, then og:title), else `<title>`, without the site's name.
    """
    raw, titles = _title_tags(signals, declared, found)
    h1 = _h1_headline(signals, raw, titles)
    if h1:
        return h1
    if titles:
        return _completed(titles[0], titles)
    return signals["h1s"][0] if signals["h1s"] else None


def _title_tags(signals: dict, declared: str | None, found: str | None) -> tuple[list, list]:
    """The page's title tags as written (JSON-LD or declared, og:title, twitter:title,
    `<title>`, trafilatura's), and their headlines without the site's name."""
    meta = signals["meta"]
    raw = [_clean(declared), _clean(meta.get("og:title")), _clean(meta.get("twitter:title")),
           signals["title"], _clean(found)]
    raw = [t for t in raw if t]
    titles = [strip_site_name(t, signals, [o for o in raw if o is not t]) for t in raw]
    return raw, [t for t in titles if t and not _is_site_name(t, signals)]


def _h1_headline(signals: dict, raw: list[str], titles: list[str]) -> str | None:
    """The `<h1>` that is the headline the title tags speak of, cleaned, else None."""
    best, score = None, 0.0
    for h1 in signals["h1s"]:
        if _is_site_name(h1, signals):
            continue
        for title in titles + raw:
            if _words(h1) in (_words(piece) for piece in _SEPARATOR.split(title[:2000])):
                share = 1.0  # a piece of a long title: "Headline | the blog's tagline"
            elif _overlap(title, h1) < H1_OVERLAP / 2:
                continue  # a word or two of the title: a section's name, "Reviews"
            else:
                share = _overlap(h1, title)
            if share > score:
                best, score = h1, share
    if not best or score < H1_OVERLAP:
        return None
    if best in signals["h1_run_together"] and titles:
        # A headline and its subtitle set on two lines that ran together: the title tags
        # say which words make the headline.
        return _completed(titles[0], titles)
    kicker = signals["h1_kickers"].get(best)
    best = strip_site_name(best, signals) or best  # its own site name, not others' ends
    best = _ungarbled(best, titles) or best
    best = _without_label(best, titles, kicker)
    return _without_dateline(best, titles)


_MONTHS = {m: n for n, names in enumerate((
    "jan january janvier januar enero", "feb february fevrier février februar febrero",
    "mar march mars märz marzo", "apr april avril abril", "may mai mayo",
    "jun june juin juni junio", "jul july juillet juli julio", "aug august aout août agosto",
    "sep sept september septembre septiembre", "oct october octobre oktober octubre",
    "nov november novembre noviembre", "dec december decembre décembre dezember diciembre",
), start=1) for m in names.split()}
_MONTH = r"(?P<month>[A-Za-zéû]{3,9})\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
# The ways a page writes a day for its readers.
_DATE_FORMS = [re.compile(p, re.IGNORECASE) for p in (
    rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b",              # December 18, 2025
    rf"\b{_DAY}(?:\s+de)?\s+{_MONTH}(?:\s+de)?,?\s+{_YEAR}\b",  # 18 December 2025
    rf"\b{_YEAR}-(?P<m>[01]?\d)-(?P<d>[0-3]?\d)\b",     # 2025-12-18
    r"\b(?P<a>[0-3]?\d)(?P<sep>[./])(?P<b>[0-3]?\d)(?P=sep)(?P<y>(?:19|20)\d\d)\b",  # 18.12.2025, 12/18/2025
    r"\b(?P<a>[0-3]?\d)(?P<sep>/)(?P<b>[0-3]?\d)/(?P<y>\d\d)\b(?![/.]\d)",  # 11/13/19
)]
# A day in the URL's path: /2025/12/18/ or /2025-12-18-.
_URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-]([01]?\d|[a-z]{3,9})[/-]([0-3]?\d)(?:[/-]|\.html?|$)",
                       re.IGNORECASE)  # ... or /2023/october/03/
# How far from the headline a dateline is looked for, in characters of text.
DATELINE_BEFORE, DATELINE_AFTER = 200, 600


def _day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


class Dateline(NamedTuple):
    """A day shown on the page: the day, whether its label calls it an update, the other
    reading of an all-number date that could be read both ways (else None), and whether
    a sentence runs into it ("... for most Americans is April 15, 2025": prose, not a
    dateline)."""

    day: date
    updated: bool
    other_reading: date | None
    in_prose: bool = False


_UPDATE_LABEL = re.compile(r"(?:updated|modified|revised|edited)\W*(?:on|at)?\W*$", re.IGNORECASE)
# A verb or preposition of a sentence just before a day: no dateline's label reads so.
_PROSE_BEFORE = re.compile(r"\b(?:is|was|are|were|until|till|before|after|since|through|than)\s+$")


def parse_visible_date(text: str, month_first: bool = True) -> Dateline | None:
    """The first day written in `text` the way pages write them for readers.

    All-number dates are read month-first ("12/03/2025" is 3 December) on pages in US
    English (`month_first`), day-first elsewhere; a first number above 12 is a day
    wherever it is, and a dot ("18.12.2025") always means day-first.
    """
    best = None
    for form in _DATE_FORMS:
        for match in form.finditer(text):
            if best and match.start() >= best[0]:
                break
            groups = match.groupdict()
            found = other = None
            if groups.get("month"):
                month = _MONTHS.get(groups["month"].lower().rstrip("."))
                if month:
                    found = _day(int(groups["year"]), month, int(groups["day"]))
            elif groups.get("m"):
                found = _day(int(groups["year"]), int(groups["m"]), int(groups["d"]))
            else:
                a, b, year = int(groups["a"]), int(groups["b"]), int(groups["y"])
                year += 2000 if year < 100 else 0
                day_first = groups["sep"] == "." or a > 12 or not month_first
                found = _day(year, b, a) if day_first else _day(year, a, b)
                if a <= 12 and b <= 12 and a != b:
                    other = _day(year, a, b) if day_first else _day(year, b, a)
            if found:
                updated = bool(_UPDATE_LABEL.search(text[max(0, match.start() - 25):match.start()]))
                prose = bool(_PROSE_BEFORE.search(text[max(0, match.start() - 10):match.start()]))
                best = (match.start(), Dateline(found, updated, other, prose))
                break
    return best[1] if best else None


_NOT_READ = frozenset(("script", "style", "noscript", "template", "head", "svg", "button"))


def headline_element(tree, headline: str | None):
    """The <h1> (or <h2>) that shows the headline, else the page's first <h1>. Its text is
    read as _page_signals reads an `<h1>`: "WEEKEND<br>CODING" is two words."""
    target = _words(headline)
    squashed = "".join(target)
    first = None
    for element in tree.iter("h1", "h2"):
        text = element.text_content()
        # Spaces at its breaks change no letter: only an element whose letters are the
        # headline's is read again with them.
        if target and _squash(text) == squashed and (
                _words(text) == target or _words(_text_with_breaks(element)[0]) == target):
            return element
        if first is None and element.tag == "h1":
            first = element
    return first


def _end_item(out: list[str], begin: int) -> None:
    """A comma after the text of a list item that another follows: items of one list are
    apart ("Written by" <li>Jane Doe</li><li>Ann Roe</li> is two names, not one of four
    words). `begin`: where the item's texts start in `out` (an item of icons alone has
    none). Past a few blank texts (an item's line ends) only: each item looks back a few
    texts at most, whatever the page."""
    for n in range(len(out) - 1, max(begin - 1, len(out) - 4), -1):
        if out[n].strip():
            if not out[n].rstrip().endswith(","):
                out[n] = out[n].rstrip() + ","
            return


def text_around(tree, element, before: int = DATELINE_BEFORE, after: int = DATELINE_AFTER):
    """The page's text just before `element` and just after it (not its own), where
    bylines and datelines are shown."""
    from lxml import etree

    head: list[str] = []
    tail: list[str] = []
    out: list[str] | None = head
    items: dict = {}  # each list item open: the texts it adds to, and where they start
    skipped = 0
    size = 0
    for event, node in etree.iterwalk(tree, events=("start", "end")):
        tag = node.tag if isinstance(node.tag, str) else None
        if event == "start":
            if tag is None:  # a comment: its text is not the page's
                continue
            if tag in _NOT_READ:
                skipped += 1
                continue
            if tag == "li" and out is not None:
                items[node] = (out, len(out))
            if node is element:
                out = None
            elif skipped == 0 and out is not None and node.text:
                out.append(node.text)
                size += len(node.text) if out is tail else 0
        else:
            if tag in _NOT_READ:
                skipped -= 1
            if node is element:
                out = tail
            opened = items.pop(node, None) if tag == "li" else None
            if opened and opened[0] is out and skipped == 0 \
                    and node.getnext() is not None and node.getnext().tag == "li":
                _end_item(out, opened[1])
            if skipped == 0 and out is not None and node.tail:
                out.append(node.tail)
                size += len(node.tail) if out is tail else 0
            if out is tail and size > after * 2:
                break
    return (" ".join(" ".join(head).split())[-before:],
            " ".join(" ".join(tail).split())[:after])


def _url_day(url: str) -> date | None:
    match = _URL_DATE.search(urlsplit(url or "").path)
    if not match:
        return None
    month = int(match[2]) if match[2].isdigit() else _MONTHS.get(match[2].lower())
    return _day(int(match[1]), month, int(match[3])) if month else None


def _declared_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _agrees(dateline: Dateline, day: date | None, declared: str | None = None) -> bool:
    """Whether the page's declared day stands beside the day it shows: the shown day is
    an update's, or the other reading of an all-number date, or a day off that a time
    zone explains (a UTC time declared, the local day shown)."""
    if day is None:
        return False
    return dateline.updated or dateline.other_reading == day \
        or (abs((dateline.day - day).days) <= 1 and _zone_explains(dateline.day, declared))


def _zone_explains(shown: date, declared: str | None) -> bool:
    """Whether the declared time falls on the shown day somewhere on Earth (offsets -12 h
    to +14 h): "2025-12-19T22:02Z" is the 19th everywhere but east of +02:00, where it is
    the 20th, never the 18th. A declared day without a time: any day beside it."""
    from datetime import datetime, timedelta

    try:
        moment = datetime.fromisoformat(declared.replace("Z", "+00:00")) if declared else None
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None or len(declared) <= 10:
        return True
    utc = moment - moment.utcoffset()
    return (utc - timedelta(hours=12)).date() <= shown <= (utc + timedelta(hours=14)).date()


# Body markup that marks a day as the publication's: <time pubdate>, microdata
# datePublished, WordPress's <time class="entry-date published">.
_MARKED_PUBLISHED = ('//body//*[@pubdate or @itemprop="datePublished" or '
                     'contains(concat(" ", @class, " "), " published ")][@datetime or @content]')


def _update_shown_beside_marked_publication(signals: dict, dateline: Dateline,
                                            day: date | None) -> bool:
    """Whether the day shown is the declared modification's while the body's markup marks
    the declared publication day as such: the update shown without its label, beside the
    publication (alone, a day shown equal to the modification is the truth's publication
    as often as not: benchmarks/README.md, "Fields")."""
    modified = _declared_day(signals.get("modified"))
    if not (day and modified and dateline.day == modified and "tree" in signals):
        return False
    return any(_declared_day(e.get("datetime") or e.get("content")) == day
               for e in signals["tree"].xpath(_MARKED_PUBLISHED))


# The same marks on <time> elements only: a quarter of _MARKED_PUBLISHED's cost, run on
# every page that declares one day as both its publication and its modification.
_TIME_MARKED_PUBLISHED = ('//body//time[@datetime][@pubdate or @itemprop="datePublished" or '
                          'contains(concat(" ", @class, " "), " published ")]')


def _marked_publication_apart(signals: dict, day: date) -> date | None:
    """Where the page declares one day as both its publication and its modification (a
    template writing the last save into both), the day the body's markup marks as the
    publication (`<time pubdate>`, `<time itemprop="datePublished">`), when it is
    another: more than a day apart, which no time zone explains."""
    if "tree" not in signals:
        return None
    for element in signals["tree"].xpath(_TIME_MARKED_PUBLISHED):
        marked = _declared_day(element.get("datetime"))
        if marked:
            return marked if abs((marked - day).days) > 1 else None
    return None


# A sentence naming the first publication, anywhere: "This article was originally
# published on 26 Sep 2019 at 4:12pm but has been regularly updated".
# One contains() per text node, the phrase then checked in Python: half the XPath's cost.
_ORIGINALLY = '//body//text()[contains(., "published")]'
_ORIGINALLY_SAID = re.compile(r"(?:originally|first) published", re.IGNORECASE)


def _said_originally_published(signals: dict) -> date | None:
    """The day the page says it was originally (or first) published, where it declares no
    publication (one XPath over the text, only on those pages)."""
    if "tree" not in signals:
        return None
    month_first = signals.get("lang", "") in ("", "en-us", "en")
    for text in signals["tree"].xpath(_ORIGINALLY):
        start = _ORIGINALLY_SAID.search(text)
        shown = parse_visible_date(text[start.end():start.end() + 60], month_first) \
            if start else None
        if shown:
            return shown.day
    return None


# An update's label after a day, in one short block: "December 3, 2025. Updated: December 7,
# 2025" (a foot's or a byline box's "published, then updated" pair).
_UPDATED_TEXT = '//body//text()[contains(., "pdated")]'
_UPDATE_AFTER_DAY = re.compile(r"\b(?:last\s+)?updated\b", re.IGNORECASE)
_PAIR_BLOCK_CHARS = 300  # a block holding the pair; longer ones are prose or the whole page


def _short_text(element, limit: int) -> str | None:
    """The element's text, spaces collapsed, or None past `limit` characters: read piece by
    piece and stopped there, so that many small nodes in one huge block cost the limit
    each, not the block's size (text_content() would read it all each time)."""
    pieces, size = [], 0
    for piece in element.itertext():
        size += len(piece)
        if size > limit * 4:
            return None
        pieces.append(piece)
    text = " ".join(" ".join(pieces).split())
    return text if len(text) <= limit else None


def _published_before_update(signals: dict) -> date | None:
    """Where the page declares no publication and shows none beside its headline, the day
    written just before an "Updated" label followed by a later (or the same) day, anywhere
    on the page: the first day of a "published, then updated" pair (one XPath over the
    text, only on those pages)."""
    if "tree" not in signals:
        return None
    month_first = signals.get("lang", "") in ("", "en-us", "en")
    read = set()  # each block once, however many labels it holds
    for text in signals["tree"].xpath(_UPDATED_TEXT):
        element = text.getparent()
        if element is None:
            continue
        if text.is_tail:
            element = element.getparent()
        for block in (element, element.getparent() if element is not None else None):
            if block is None:
                break
            if block in read:
                continue
            read.add(block)
            content = _short_text(block, _PAIR_BLOCK_CHARS)
            if content is None:
                break
            for label in _UPDATE_AFTER_DAY.finditer(content):
                first = parse_visible_date(content[max(0, label.start() - 40):label.start()],
                                           month_first)
                then = parse_visible_date(content[label.end():label.end() + 40], month_first)
                if first and then and not first.updated and first.day <= then.day:
                    return first.day
    return None


def _datetime_of_shown_time(signals: dict, shown: date) -> date | None:
    """The `datetime` of the `<time>` whose text shows `shown`, where it names another day
    (more than a day apart, which no time zone explains): a script renders the text from
    the attribute, and the server's text is a stale copy (benchmarks/README.md, "Fields")."""
    if "tree" not in signals:
        return None
    month_first = signals.get("lang", "") in ("", "en-us", "en")
    for element in signals["tree"].xpath("//body//time[@datetime]"):
        text = _short_text(element, 60)
        written = parse_visible_date(text, month_first) if text else None
        if written and written.day == shown:
            marked = _declared_day(element.get("datetime"))
            return marked if marked and abs((marked - shown).days) > 1 else None
    return None


def choose_published(signals: dict, declared: str | None, found: str | None,
                     dateline: Dateline | None = None, *more: Dateline) -> str | None:
    """The publication time: the page's declared one, unless the page shows another day.

    The day shown under the headline (`dateline`, then the one above it in `more`) is what
    readers see and what the page's templates are least likely to get wrong (a declared
    date is often the first version's, a migration's or a template's); a day in the URL
    path is the site's own local day, where a declared UTC time can fall on the next one.
    A declared day either dateline agrees with stands. A declared time is kept whole when
    its day is the chosen one; otherwise the day alone is stored (YYYY-MM-DD).
    """
    declared = declared or signals.get("ld_published")
    day = _declared_day(declared)
    dateline, *more = [d for d in (dateline, *more) if d and not d.in_prose] or [None]
    url_day = _url_day(signals["url"])
    chosen = day
    if url_day:
        chosen = url_day
    elif day is None and (said := _said_originally_published(signals)):
        chosen = said
    elif day is None and dateline is None and (first := _published_before_update(signals)):
        chosen = first
    elif dateline and not any(_agrees(d, day, declared) for d in (dateline, *more)) \
            and not _update_shown_beside_marked_publication(signals, dateline, day):
        chosen = _datetime_of_shown_time(signals, dateline.day) or dateline.day
    elif day and day == _declared_day(signals.get("modified")):
        chosen = _marked_publication_apart(signals, day) or day
    if chosen is None:
        return found or None
    if day == chosen:
        return declared
    return chosen.isoformat()


# --- author --------------------------------------------------------------------------

# A byline's label: "By", "Written by:", "Author:", "Words:" (no capital needed after it).
_BYLINE = re.compile(
    r"(?:^|(?<=[\s|•·,(]))(?:(?:written|posted|article|words|story|text|reported|recipe|"
    r"photos? and words|insights)\s+(?:by|from)|by|author(?:s)?|written by|words)\s*[:\-–]?\s+",
    re.IGNORECASE)
# One name: capitalised words, initials, particles ("van der", "de"), hyphens, apostrophes.
_PARTICLES = "van|von|der|den|de|del|della|da|di|du|la|le|bin|al|ibn|ter"
_NAME_WORD = rf"(?:[A-ZÀ-ÖØ-ÞĀ-ſ][\w'’.\-]*|(?:{_PARTICLES})(?=\s+(?:(?:{_PARTICLES})\s+)?[A-ZÀ-Þ]))"
_NAME = rf"{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,3}}"
_NAMES = re.compile(rf"({_NAME}(?:\s*(?:,|&|\band\b)\s*{_NAME})*)")
# Words that end a byline's names: dates, reading times, labels, the buttons beside it.
_MONTH_WORDS = frozenset(
    "jan january feb february mar march apr april may jun june jul july aug august sep sept "
    "september oct october nov november dec december".split())
# The month words as one alternation, longest first ("september" before "sep").
_MONTH_ALTERNATION = "|".join(sorted(_MONTH_WORDS, key=len, reverse=True))
_ALSO_NAMES = frozenset(("may", "april", "june", "august"))
_NOT_NAME = frozenset(
    "mon monday tue tuesday wed wednesday thu thursday fri friday sat saturday sun sunday "
    "updated last published posted on in at min read reading minutes minute share follow "
    "reviewed edited fact checked comments comment facebook tweet twitter pin pinterest "
    "email linkedin instagram youtube advertisement home menu table contents verified "
    "researched view print subscribe when while this it if after what how why more about "
    "category categories tags filed save".split())
# A job title after the names: ends them once a name of two words or more is read.
_JOB_WORDS = frozenset(
    "senior junior writer reporter director founder co-founder cofounder chief ceo cto "
    "former head manager consultant expert editor contributor contributing correspondent "
    "columnist page marketing content specialist strategist analyst coordinator officer "
    "president vp lead associate assistant certified licensed tech edtech attorney "
    "journalist dietitian gardener".split())
_MAX_NAME_WORDS = 8
_TITLES = frozenset("jr sr dr mr mrs ms prof st".split())
# A number, a date, a time ("12th", "3/4/2025", "10:30,"): the names are over.
_NUMBER = re.compile(r"[\d/.:,;\-–]*\d[\d/.:,;\-–]*(?:st|nd|rd|th)?\W*")
# A template's placeholder ("page.head.extra.author"), not a name.
_PLACEHOLDER = re.compile(r"[\w-]+(?:\.[\w-]+){2,}")


_ADDRESS = re.compile(r"https?://|\bwww\b|@|\.(?:com|org|net|io|co\.uk)\b", re.IGNORECASE)


_CREDIT = re.compile(r"(?:^|[,;]\s*)[a-z]+:\s")


_LETTERS = re.compile(r"[^\W\d_]+")


def _ends_sentence(word: str) -> bool:
    r"""A word of letters with a lower-case one before its last, then a full stop ("Doe.",
    not "J." nor "NASA."). What `[^\W\d_]*[a-z][^\W\d_]+\.` fullmatches, tested in
    linear time: that expression cost a long run of letters its length squared."""
    stem = word[:-1]
    return (word.endswith(".") and len(stem) >= 2 and _LETTERS.fullmatch(stem) is not None
            and re.search("[a-z]", stem[:-1]) is not None)


def clean_author(value: str | None, organisations: list[str]) -> str | None:
    """A person's name from what a page gives as its author, or None.

    Gone: a "By"/"Written by"/"Author:" label, what follows the names (a date, "Updated",
    a job title after a bullet, "| Site"), "; " between names (trafilatura's joiner, made
    ", "). Refused: addresses (a profile URL, an e-mail), numbers, and the site's or
    publisher's own name: a page's organisation is not its author.
    """
    value = _clean(value)
    if not value or len(_CREDIT.findall(value)) >= 2:
        return None  # a credits list: "content: Example, design: Jane Doe, code: Ann Roe"
    parts = re.split(r"\s*[;,|]\s*", value)
    kept_parts = [p for p in parts if p and not _ADDRESS.search(p)
                  and _squash(p) not in {_squash(n) for n in organisations}]
    if len(kept_parts) < len(parts):  # an address or the publisher among the names
        value = ", ".join(kept_parts)
    if not value:
        return None
    label = _BYLINE.search(value[:40])
    if label and len(value[:label.start()].split()) <= 4:  # "This post was written by"
        value = value[label.end():]
    value = re.split(r"\s+(?:[|•·—–]|-\s)\s*|\s*[|•·]\s*", value)[0]
    value = value.replace("; ", ", ").strip(" ,;:-")
    words = value.split()
    kept: list[str] = []
    name_start = 0
    for n, word in enumerate(words):
        bare = word.strip(",.").casefold()
        following = words[n + 1] if n + 1 < len(words) else ""
        if bare in _NOT_NAME or _NUMBER.fullmatch(word) or (
                bare in _MONTH_WORDS and (following[:1].isdigit() or (
                    not following and (not kept or bare not in _ALSO_NAMES)))):
            break
        if bare in _JOB_WORDS and len(kept) - name_start >= 2:
            break
        if bare in ("dr", "mr", "mrs", "ms", "prof") and len(kept) - name_start >= 2:
            break  # the bio's first words: "Jane Doe Dr. Jane Doe is ..."
        if _ends_sentence(word) and bare not in _TITLES:
            kept.append(word.rstrip("."))
            break  # a sentence ends: "by Jane Doe. Photos..."
        kept.append(word)
        if word.endswith(","):
            name_start = len(kept)  # the next name's words
    half = len(kept) // 2
    if kept and len(kept) % 2 == 0 and kept[:half] == kept[half:]:
        kept = kept[:half]  # a name shown twice (beside its photo, then as a link)
    if len(kept) > 2 and kept[0].isupper() and len(kept[0]) <= 3 \
            and kept[0] == "".join(w[0] for w in kept[1:len(kept[0]) + 1]):
        kept = kept[1:]  # the initials of an avatar: "CM Craig McCarthy"
    # "Jane Doe , Ann Roe" (names in elements of their own, a comma between) as one writes it
    value = _co_authors_only(" ".join(kept).replace(" ,", ",").strip(" ,;:-"))
    if not value or not any(c.isalpha() for c in value) \
            or ("," not in value and len(value.split()) > _MAX_NAME_WORDS):
        return None  # nothing of a name left, or a sentence
    if _PLACEHOLDER.fullmatch(value) or _BYLINE.fullmatch(value + " ") \
            or any(w.count("-") >= 3 for w in value.split()):
        return None  # a placeholder, a label with no name after it, or a class name
        # ("Wp-Block-Co-Authors-Plus-Coauthors" of an element trafilatura's search read)
    if len(value.rstrip(".")) < 2:
        return None  # a letter: "Written By I dove into ..." (the text's first word)
    if value.casefold() in ("the author", "author") or "author" in _words(value)[1:] \
            or value.split()[0].casefold() in ("admin", "administrator"):
        return None
    if _squash(value) in {_squash(n) for n in organisations}:
        return None  # the site's or the publisher's name
    return value


# Job words that are also surnames ("Ann Page"): no job title in a co-author's place.
_SURNAMES = frozenset(("page", "head", "lead", "writer", "marketing"))
_SMALL_WORDS = frozenset(("and", "of", "the", "at", "for", "in", "on", "to", "&"))
_PARTICLE_WORDS = frozenset(_PARTICLES.split("|"))  # "Erik van Vulpen" is a name


def _co_authors_only(value: str) -> str:
    """The names of a byline without the job title, beat or organisation after a comma:
    "Jane Doe, Trial Attorney, Example LLP", "Jane Doe , Privacy and Digital Security",
    "Jane Doe, Ann Roe, Extension horticulture educators", "Jane Doe, South Carolina
    Garden-based Learning Network". After a name of two words or more, a piece is cut
    (with all after it) when it holds a job's word, a lower-case word, more than four
    words (each side of an "and"), or a one-word side of an "and"; credentials ("MS, RD",
    "Ph.D.") and a single word ("Dietitian") stay: the corpus's truth keeps them as often
    as not."""
    pieces = value.split(",")
    if len(pieces) < 2 or len(pieces[0].split()) < 2:
        return value  # one name, or "Doe, Jane"

    def job_or_beat(piece: str) -> bool:
        words = piece.split()
        bare = {w.strip(".").casefold() for w in words}
        sides = re.split(r"\s+(?:and|&)\s+", piece.strip())
        if len(words) < 2:
            return False  # "MD", "Dietitian"
        return any(len(side.split()) > 4 for side in sides) \
            or bool(bare & (_JOB_WORDS - _SURNAMES)) \
            or any(w[:1].islower() and w.casefold() not in _SMALL_WORDS | _PARTICLE_WORDS
                   for w in words) \
            or (len(sides) > 1 and any(len(side.split()) < 2 for side in sides))

    for n, piece in enumerate(pieces[1:], start=1):
        # A one-word job ("Head") with more pieces after it is a title written in pieces:
        # "Jane Doe; Head; Community Development" (trafilatura's joiner).
        titled = piece.strip().casefold() in _JOB_WORDS and n + 1 < len(pieces)
        if job_or_beat(piece) or titled:
            return ",".join(pieces[:n]).strip(" ,")
    return value


# "Reviewed by", "Photo by", "acquired by": not the author's byline.
_NOT_BYLINE = re.compile(r"(?:reviewed|checked|edited|photos?|image|images|illustrations?|"
                         r"powered|designed|sponsored|presented|hosted|credit|video|narrated|"
                         r"[a-z]+ed)\W*$", re.IGNORECASE)


# Words after a byline's names that do not start its text: "By Mary Ann Smith on ...".
_LINKING = re.compile(r" (?:on|in|for|and|at|with|from|of|is|was|\|)\b")


def visible_byline(text: str, signals: dict) -> str | None:
    """The names after the first byline label ("By Jane Doe") in `text`.

    A lower-case "by" in a sentence ("acquired by Example Corp") is no label: only one
    after a date, a bullet or the start of a line of the byline is.
    """
    for label in _BYLINE.finditer(text):
        before = text[max(0, label.start() - 30):label.start()]
        word = label.group(0).strip()
        if _NOT_BYLINE.search(before) and word.lower().startswith("by"):
            continue
        if word.startswith("by") and re.search(r"(?:[A-Za-z]\w*|\d,)\s*$", before):
            continue  # "acquired by", a caption's "August 12, 1898, by Jane Doe"
        rest = text[label.end():label.end() + 200]
        match = _NAMES.match(rest)
        if not match:
            continue
        words, after = match.group(1).split(), rest[match.end(1):]
        half = len(words) // 2
        if len(words) % 2 == 0 and words[:half] == words[half:]:
            words = words[:half]  # the name beside its photo, then as a link
        month = words[-1].casefold() in _MONTH_WORDS and re.match(r"\s*\d", after)
        prose = re.match(r" [a-z]", after) and not _LINKING.match(after)
        if len(words) > 2 and (month or prose):
            # "By Jane Doe June 3, 2025": a date's month; "By Jane Doe Sleep training a
            # toddler...": the first word of the text.
            words = words[:-1]
        names = clean_author(" ".join(words), signals["organisations"])
        if names:
            return names
    return None


# A name alone under the headline, then its date or reading time: "Jane Doe · 3 min read"
# (not a number that opens a phrase: "Video Production 101: ..."); several names too,
# between commas: "Jane Doe, Ann C. Roe, John Major 24 Apr 2000".
_UNLABELLED = re.compile(
    rf"^(?:[^\w\s]\s*)?((?-i:{_NAME_WORD}\s+{_NAME_WORD}(?:\s+{_NAME_WORD})?"
    rf"(?:\s*,\s*{_NAME_WORD}\s+{_NAME_WORD}(?:\s+{_NAME_WORD})?){{0,5}}))\s*(?:[|•·,—–-]\s*)?"
    rf"(?=(?:{_MONTH_ALTERNATION})\.?\s+\d|\d(?!\d*:\s)|"
    rf"(?:updated|published|posted|last updated)\b)", re.IGNORECASE)


_TWO_NAMES = rf"((?-i:{_NAME_WORD}\s+{_NAME_WORD}(?:\s+{_NAME_WORD})?))"
# Two name words exactly; and they opening a line after the standfirst's last sentence.
_TWO_WORDS_NAME = rf"((?-i:{_NAME_WORD}\s+{_NAME_WORD}))"
_NAME_AFTER_SENTENCE = rf"(?<=[.?!] ){_TWO_WORDS_NAME}"
_JOB_ALTERNATION = "|".join(sorted(_JOB_WORDS))
# ... or a name then its job title ("Jane Doe Senior Reporter"), or a date then the name
# and its section ("Dec 26, 2025 • Jane Doe in Harbours").
_NAME_THEN_JOB = re.compile(rf"^{_TWO_NAMES}\s*[,|•·]?\s+(?:{_JOB_ALTERNATION})\b",
                            re.IGNORECASE)
# ... or the same after the standfirst's last sentence: "... in 2025? Jane Doe Tech Writer".
_NAME_THEN_JOB_AFTER_STANDFIRST = re.compile(
    rf"{_NAME_AFTER_SENTENCE}\s*[,|•·]?\s+(?:{_JOB_ALTERNATION})\b", re.IGNORECASE)
_DATE_THEN_NAME = re.compile(
    rf"^(?:{_MONTH_ALTERNATION})\.?\s+\d{{1,2}},?\s+\d{{4}}"
    rf"\s*[|•·]\s*{_TWO_NAMES}\s+(?:in\b|on\b|[|•·])", re.IGNORECASE)
# ... or an ISO date, a bullet and the name before the text: "2025-12-17 · Jane Doe The ...";
# or, after the standfirst's last sentence, a name then its date: "... geographies. Jane Doe
# 23.07.2025 · 6 min read".
_ISO_DATE_THEN_NAME = re.compile(
    rf"^(?:19|20)\d\d-[01]\d-[0-3]\d\s*[|•·]\s*{_TWO_WORDS_NAME}"
    rf"(?:\s+(?:[|•·]|[A-Z]\w*\b)|$)")
_NAME_THEN_DATE_AFTER_STANDFIRST = re.compile(
    rf"{_NAME_AFTER_SENTENCE}\s*[|•·]?\s+"
    rf"(?:[0-3]?\d[./][01]?\d[./](?:19|20)\d\d|(?:19|20)\d\d-[01]\d-[0-3]\d)\b")
# ... or, anywhere under the headline, a byline bar: "Jane Doe Dec 19, 2025 • 12 min read"
# (opening the text, a first name alone: "Jane March 5, 2026 9 min read").
_FIRST_NAME_BAR = re.compile(
    rf"^((?-i:[A-ZÀ-Þ][a-zà-ÿ]+))\s+(?:{_MONTH_ALTERNATION})"
    rf"\.?\s+\d{{1,2}},?\s+\d{{4}}\s*[|•·]?\s*\d+\s*min(?:ute)?s?\s+read", re.IGNORECASE)
# ... or, just above the headline, a date then the name: "Dec 17, 2025 Jane K. Doe".
_DATE_THEN_NAME_ABOVE = re.compile(
    rf"(?:^|[\s|•·])(?:{_MONTH_ALTERNATION})\.?\s+\d{{1,2}},?"
    rf"\s+\d{{4}}\s*[|•·]?\s*{_TWO_NAMES}$", re.IGNORECASE)
_BYLINE_BAR = re.compile(
    rf"(?<![\w,])\s*{_TWO_NAMES}\s+(?:{_MONTH_ALTERNATION})"
    rf"\.?\s+\d{{1,2}},?\s+\d{{4}}\s*[|•·]\s*\d+\s*min(?:ute)?s?\s+read", re.IGNORECASE)


# ... or a name then its role between brackets: "Jane Doe (Content Manager) Ann Roe
# (Editor-in-Chief)": the first, with the role the page writes beside it.
_NAME_THEN_ROLE = re.compile(rf"^{_TWO_NAMES}\s+\(([^()]{{3,40}})\)")


def _name_with_role(text: str, signals: dict) -> str | None:
    """"Jane Doe (Content Manager)" opening the text under the headline, its role holding
    a job's word: the name and its role, as the byline writes them."""
    match = _NAME_THEN_ROLE.match(text)
    if not match or not set(_words(match.group(2))) & _JOB_WORDS:
        return None
    name = clean_author(match.group(1), signals["organisations"])
    return f"{name} ({match.group(2).strip()})" if name == match.group(1) else None


# ... or names each with its credentials, between semicolons: "Jane Doe, DVM, DACVB; Ann
# Roe, BA, VTS (Behavior) & Joe Bloggs, DVM": each comma takes one credential.
_CREDENTIALS = r"(?:,\s*(?:[A-Z]{2,6}|Ph\.?D\.?)(?![\w.]))+(?:\s*\([A-Z][a-z]+\))?"
_CREDENTIALED = re.compile(
    rf"^{_NAME_WORD}\s+{_NAME_WORD}(?:\s+{_NAME_WORD})?{_CREDENTIALS}"
    rf"(?:\s*(?:;|&)\s*{_NAME_WORD}\s+{_NAME_WORD}(?:\s+{_NAME_WORD})?{_CREDENTIALS})+")


def unlabelled_byline(text: str, signals: dict) -> str | None:
    """A name that opens the text under the headline and is followed by a date or a job
    title (between brackets too), or follows its date; or names with their credentials."""
    with_role = _name_with_role(text, signals)
    if with_role:
        return with_role
    credentialed = _CREDENTIALED.match(text)
    if credentialed:  # as written: clean_author would take "; " for a name's end
        return credentialed.group(0)
    match = _FIRST_NAME_BAR.match(text) or _UNLABELLED.match(text) or _NAME_THEN_JOB.match(text) \
        or _DATE_THEN_NAME.match(text) or _BYLINE_BAR.search(text[:300]) \
        or _NAME_THEN_JOB_AFTER_STANDFIRST.search(text[:300]) \
        or _ISO_DATE_THEN_NAME.match(text) or _NAME_THEN_DATE_AFTER_STANDFIRST.search(text[:400])
    if not match:
        return None
    words = match.group(1).split()
    while len(words) > 2 and words[-1].casefold() in _JOB_WORDS | _NOT_NAME | _MONTH_WORDS:
        words.pop()  # "Jane Doe Senior" of "Jane Doe Senior Reporter", "Jane Doe Last" updated
    if any(w.casefold() in _MONTH_WORDS | _NOT_NAME | _JOB_WORDS for w in words):
        return None
    return clean_author(" ".join(words), signals["organisations"])


def _weak_author(name: str, signals: dict | None = None) -> bool:
    """Whether a declared author reads as a login or the site's own name rather than a
    person's: a single token with a dot, digit, underscore or inner capital, or all lower
    case ("jdoe", "andrew.keaveney", "KatieS"); an "admin" account; the site's name (a
    one-person blog is named after its author, so that one is only set aside, not refused)."""
    words = name.split()
    if len(words) == 1 and (re.search(r"[._@\d]", name) or name.islower()
                            or re.search(r"[a-z][A-Z]", name)):
        return True
    if any(w.casefold() in ("admin", "administrator", "webmaster") for w in words):
        return True
    return signals is not None and _is_site_name(name, signals)


def _piece_of(found: str, declared: str) -> bool:
    """Whether trafilatura's reading `found` is the declared name with words lost: its
    words, fewer, all among the declared's, none added."""
    words, whole = _words(found), _words(declared)
    return bool(words) and len(words) < len(whole) and set(words) <= set(whole)


def _extends(name: str, weak: str | None) -> bool:
    """Whether `name` is `weak` with words after it: a byline read too far ("Jane Doe
    Sponsored"), not another author."""
    words, start = _words(name), _words(weak)
    return bool(weak) and len(words) > len(start) and words[:len(start)] == start


def choose_author(signals: dict, declared: str | None, found: str | None,
                  around: tuple[str, str]) -> tuple[str | None, bool]:
    """The author (see _chosen_author), with the job title the byline writes in the same
    text as the name (see _with_job_title); and whether the name is a weak one."""
    author, weak = _chosen_author(signals, declared, found, around)
    if author and not weak:
        author = _with_job_title(author, around[1][:400], signals)
        author = _all_cited(author, signals)
    return author, weak


_CITATION = ("citation_author", "citation_authors")


def _all_cited(author: str, signals: dict) -> str:
    """A paper's authors as its citation tags list them, one tag each (Google Scholar's
    `citation_author`, or `citation_authors` as some journals write it), where the author
    chosen is the first of them alone or all of them as trafilatura reads them ("Roy;
    Aniruddha; Patel; Jyoti"); "Doe, Jane" turned round to "Jane Doe", as the page shows
    it. One XPath, only on a page with such a tag."""
    if "tree" not in signals or not any(k in signals["meta"] for k in _CITATION):
        return author
    cited = []
    for value in signals["tree"].xpath(
            '//meta[@name="citation_author" or @name="citation_authors"]/@content')[:50]:
        name = _clean(value)
        if name and name.count(",") == 1:
            last, first = name.split(",")
            name = f"{first.strip()} {last.strip()}"  # "Doe, Jane"
        if name and name not in cited:
            cited.append(name)
    chosen = _words(author)
    if len(cited) < 2 or not (chosen == _words(cited[0]) or set(chosen) == set(_words(" ".join(cited)))):
        return author
    return clean_author(", ".join(cited), signals["organisations"]) or author


# A job title's piece that is none: a date, a reading time.
_NOT_JOB = re.compile(r"\d")


def _with_job_title(name: str, after: str, signals: dict) -> str:
    """The name with the job title after its comma where the page writes both in one text
    ("Jane Doe, Shipping Expert", "by Jane Doe, CEO of Example"): the byline as a whole.
    A title in an element of its own beside the name's link ("<a>Jane Doe</a><span>,
    Senior Analyst</span>"), the corpus's truth leaves out, as it does a one-word one
    ("Jane Doe, Contributor"), and one in a sentence after the byline ("Jane Doe 12 March
    2025 ... Jane Doe, CEO of Example, delves into"). Only where the text under the headline
    first shows the name with a comma after it (one XPath then)."""
    base = name.split(",")[0]
    at = after.find(base)
    if len(base.split()) < 2 or at < 0 or after[at + len(base):at + len(base) + 1] != "," \
            or "tree" not in signals:
        return name  # where the name is first shown under the headline, a comma after it
    for node in signals["tree"].xpath("//body//text()[contains(., $n)]", n=f"{base},")[:3]:
        if len(node) > 200:
            continue  # a paragraph, not a byline
        text = " ".join(str(node).split())
        label = _BYLINE.match(text)
        text = text[label.end():] if label else text
        job = text[len(base) + 1:].strip()
        words = job.split()
        if not text.startswith(f"{base},") or len(text) > 120 or not 2 <= len(words) <= 8 \
                or _NOT_JOB.search(job) or _ends_sentence(words[-1]) \
                or _words(f"{base}, {job}")[:len(_words(name))] != _words(name):
            continue  # a date, a sentence: "Jane Doe, MS, RD All of us have heard ..."
        bare = [w.strip(".,").casefold() for w in words]
        if words[0].strip(",").isupper() and bare[0] not in _JOB_WORDS:
            continue  # credentials ("MS, RDN"), kept or cut by clean_author
        if set(bare) & _JOB_WORDS or any(w[:1].islower() for w in words):
            return f"{base}, {job}"
    return name


def _chosen_author(signals: dict, declared: str | None, found: str | None,
                   around: tuple[str, str]) -> tuple[str | None, bool]:
    """The author the page declares, else the byline shown beside its headline; and
    whether the name is a weak one (see _weak_author).

    Declared authors are tried in the order they are trusted: JSON-LD and `author` meta
    (`declared`), trafilatura's reading of them (`found`), the other meta tags that name
    an author (_marked_authors). Each is taken once clean_author has taken the labels and
    dates off it and refused addresses and the publisher's name. Where none is a person's
    name, a labelled byline near the headline ("By ...", "Written by ..."), then the body's
    byline markup; a login or the site's own name is kept only where neither names
    another, and before a name shown without a label.
    (extract_article then tries trafilatura's byline search: see searched_author.)
    """
    before, after = around
    organisations = signals["organisations"]
    weak = None
    kept = clean_author(declared, organisations)
    for candidate in (declared, found, *signals.get("marked_authors", ())):
        if candidate is found and declared and _squash(found or "") == _squash(declared) \
                and ((kept and _weak_author(kept, signals)) or _CREDIT.search(declared)):
            continue  # trafilatura's reading of a login: "andrew.keaveney" made "Andrew Keaveney"
            # (or of a credits list, refused)
        if candidate is found and declared and _piece_of(found, declared):
            continue  # trafilatura's reading that lost words: "Center; Research" of
            # "Center for Drug Evaluation and Research" (it splits at "for" and "and")
        name = clean_author(candidate, organisations)
        if not name:
            continue
        if not _weak_author(name, signals):
            shown = _shown_instead(name, after[:400], signals)
            return _with_co_authors(shown, after[:400], signals) if shown == name else shown, False
        weak = weak or name
    labelled = visible_byline(after[:400], signals) or visible_byline(before[-120:], signals)
    if labelled:
        if len(labelled.split()) == 1 and "byline_markup" in signals:
            # One word, the byline's name cut at a small word ("By Ask the Doctors"): the
            # body's byline markup gives it whole.
            markup = signals["byline_markup"]()
            labelled = next((m for m in (clean_author(c, organisations) for c in markup)
                             if m and _extends(m, labelled)), labelled)
        elif len(labelled.split()) >= 4 and "byline_markup" in signals:
            # Four words or more: the label's links ("By Wedding Checklists Just Engaged
            # Jane Doe"), the marked-up name just after them is the author.
            at = after.find(labelled)
            near = after[at:at + len(labelled) + 60] if at >= 0 else ""
            markup = signals["byline_markup"]()
            labelled = next((m for m in (clean_author(c, organisations) for c in markup)
                             if m and len(m.split()) >= 2 and m in near), labelled)
        if not _weak_author(labelled, signals) and not _extends(labelled, weak):
            return labelled, False
        return weak or labelled, True  # the site's name shown as the byline
    markup = signals["byline_markup"]() if "byline_markup" in signals else ()
    for name in filter(None, (clean_author(c, organisations) for c in markup)):
        if not _weak_author(name, signals):
            return name, False
        if _is_site_name(name, signals) and not _weak_author(name):
            weak = weak or name  # a one-person site named after its author marks it up
    unlabelled = unlabelled_byline(after, signals)
    if not unlabelled and (above := _DATE_THEN_NAME_ABOVE.search(before[-80:])):
        unlabelled = clean_author(above.group(1), organisations)
    site_named = bool(weak) and (not _weak_author(weak) or _is_site_name(weak, signals))
    if unlabelled and site_named and not _weak_author(unlabelled, signals) \
            and not _extends(unlabelled, weak):
        return unlabelled, False  # the site's name declared ("Rapid7" too), a person's shown
    if weak:
        return weak, True
    shown = labelled or unlabelled
    if shown:
        return shown, _weak_author(shown, signals)
    # A link to an author's page, anywhere: weak, trafilatura's byline search comes first.
    linked = signals["author_link"]() if "author_link" in signals else None
    return linked, bool(linked)


def _shown_instead(declared: str, after: str, signals: dict) -> str:
    """The byline under the headline where it labels another person than the one declared
    ("By: Jane Doe" on a page declaring the site's editor): what readers see. A byline
    naming any of the declared people again ("A and B" for "A, B", "Dr Jane" for "Jane
    Doe"), one word, or running into capitals ("Jane Doe JUMP TO") is not another."""
    shown = visible_byline(after, signals)
    if shown and re.match(r",\s*[A-Z]{2,5}\b", shown[len(shown.split(",")[0]):]):
        shown = shown.split(",")[0]  # the name before its credentials: "Jane Doe, MS, RDN"
    if not shown or len(shown.split()) < 2 or _weak_author(shown, signals) \
            or set(_words(shown)) & set(_words(declared)) - _TITLES \
            or any(w.isupper() and len(w) > 2 for w in shown.split()):
        return declared  # the same people, a piece of the name, or "Jane Doe JUMP TO"
    return shown


_DESKS = frozenset("desk staff team bureau newsroom editors editorial".split())


def _with_co_authors(declared: str, after: str, signals: dict) -> str:
    """The declared name with the co-authors the text under the headline lists after it
    ("Jane Doe , Ann Roe & John Major Nov 25th" where only "Jane Doe" is declared), and the
    "Dr" before it there: the byline readers see. Only for one declared name of two words
    or more, shown followed by a comma, "&" or "and" and another name."""
    if "," in declared or len(declared.split()) < 2:
        return declared
    at = after.find(declared)
    end = at + len(declared)
    if at < 0 or not re.match(r"\s*(?:,|&|and\b)\s*[A-ZÀ-Þ]", after[end:end + 8]):
        return declared
    match = _NAMES.match(after, at)
    listed = " ".join(match.group(1).replace(" , ", ", ").split()) if match else ""
    names = clean_author(listed, signals["organisations"])
    if not names or len(_words(names)) <= len(_words(declared)) \
            or _words(names)[:len(_words(declared))] != _words(declared) \
            or any(len(n.split()) < 2 or set(_words(n)) & _DESKS or _is_site_name(n, signals)
                   for n in re.split(r"\s*(?:,|&|\band\b)\s*", names)):
        return declared  # "Jane Doe, Global Desk", "Jane Doe, Example Farmer" (the site)
    title = re.search(r"\b(?:Dr|Prof)\.?\s+$", after[max(0, at - 6):at])
    return title.group(0) + names if title else names


_WRITTEN_BY = re.compile(r"(?:written|article)\s+by\s*[:\-–]?", re.IGNORECASE)


def writer_over_desk(tree, author: str, signals: dict) -> str:
    """The person a "Written by" names anywhere on the page where the byline chosen is a
    desk's ("Team Example", "Example Staff"): a team signs the byline box under the
    headline, its writer the article's end. Only the "Written by" / "Article by" label
    (a bare "By" at the foot is as often a quote's or a photo's); the page's texts are
    walked only for a desk's name (rare: ~2 ms)."""
    if not set(_words(author)) & _DESKS:
        return author
    texts = _page_texts(tree)
    for n, (text, _) in enumerate(texts):
        start = _LABEL_START.match(text)
        if start:
            name = _person(text[start.end():], signals)
        elif _WRITTEN_BY.fullmatch(text) and n + 1 < len(texts):
            name = _person(texts[n + 1][0], signals)
        else:
            continue
        if name and not set(_words(name)) & _DESKS:
            return name
    return author


def searched_author(chosen: str | None, weak: bool, searched: str | None,
                    organisations: list[str], fallback: tuple | None = None) -> str | None:
    """The author to store once trafilatura's byline search (`searched`) has run: it fills
    a missing author, and replaces a weak one (a login, the site's name) with a person's.
    `fallback` (fallback_author's, where nothing named the author): a labelled name or an
    author's name box comes before it (trafilatura takes the first text of any element
    classed "author", a date or the site's name as often), the site's owner after it."""
    name = clean_author(searched, organisations)
    first, last = fallback or (None, None)
    if not chosen:
        return first or name or last
    if weak and first and not _extends(first, chosen):
        return first  # "Written by Jane Doe" at the foot, the site's name declared
    if weak and name and not _weak_author(name) and not _extends(name, chosen) \
            and (len(name.split()) > 1 or len(chosen.split()) == 1) \
            and not set(_words(name)) < set(_words(chosen)):  # one of the linked co-authors
        return name  # not one word ("Fullysecret") over a name of two ("Sir Nuno" on sirnuno.com)
    return chosen




# --- author, where nothing near the headline names one ---------------------------------

# A label that stands alone before a name anywhere on the page: "Written by", "Article
# by", "Author:", "Contributors:", "By" (its own text, then a link), in an author box or a
# footer; "Photo by" and "Reviewed by" are not it (see _NOT_BYLINE).
_LABEL_ALONE = re.compile(r"(?:written|article|posted|words|story)\s+by|by|authors?|author\(s\)|"
                          r"contributors?|about the author", re.IGNORECASE)
_LABEL_START = re.compile(r"^(?:written|article)\s+by\s*[:\-–]?\s+", re.IGNORECASE)
# An element named as the author's, its first text the name: class="author-name",
# "blog_author-text", "elementor-author-box__name".
_AUTHOR_CLASS = re.compile(r"author(?:[-_]?name|[-_]box__name|[-_]text|[-_]info)|authorName",
                           re.IGNORECASE)
_MAX_TEXTS = 5000  # text pieces read: a page's boxes and footer, not a megabyte of list


_COMMENTS = re.compile(r"comment|respond|reply", re.IGNORECASE)


def _skipped(node) -> bool:
    """Not the article's: scripts, buttons, and the comments, sidebars and related posts,
    where other people's names are."""
    return node.tag in _NOT_READ or bool(_COMMENTS.search(
        (node.get("class") or "") + " " + (node.get("id") or "")))


def _page_texts(tree) -> list[tuple[str, object]]:
    """The page's visible text pieces in order, each with the element it belongs to."""
    from lxml import etree

    texts: list[tuple[str, object]] = []
    skipped = 0
    for event, node in etree.iterwalk(tree, events=("start", "end")):
        if not isinstance(node.tag, str):
            continue
        if event == "start":
            if skipped or _skipped(node):
                skipped += 1
            elif node.text and node.text.strip():
                texts.append((" ".join(node.text.split()), node))
            continue
        if skipped:
            skipped -= 1
            if skipped:
                continue  # inside a skipped element; its root's tail is read
        parent = node.getparent()
        if parent is not None and node.tail and node.tail.strip():
            texts.append((" ".join(node.tail.split()), parent))
        if len(texts) >= _MAX_TEXTS:
            break
    return texts


def _person(text: str | None, signals: dict) -> str | None:
    """`text` when it is a person's name alone (two to four name words), else None."""
    text = _clean(text)
    if not text or len(text) > 60:
        return None
    name = clean_author(text, signals["organisations"])
    if not name or not re.fullmatch(_NAME + r"(?:\s*(?:,|&|\band\b)\s*" + _NAME + ")*", name) \
            or not 2 <= len(name.split()) or _weak_author(name, signals) \
            or set(_words(name)) & (_MONTH_WORDS | _NOT_NAME | _JOB_WORDS):
        return None
    return name


def labelled_anywhere(texts: list, signals: dict) -> str | None:
    """The name after a byline label anywhere on the page: a label standing alone, the
    name in the next text ("Written by" <a>Jane Doe</a>), or "Written by Jane Doe" as one
    text (an author box at the foot of the article)."""
    for n, (text, _) in enumerate(texts):
        start = _LABEL_START.match(text)
        if start:
            name = _person(text[start.end():], signals)
            if name:
                return name
        label = text.rstrip(" :")
        if _LABEL_ALONE.fullmatch(label) and n + 1 < len(texts):
            # The text's end only: the expression's "[a-z]+ed" searched through a long
            # run of letters costs its length squared (a hostile page's 80,000: a minute).
            if _NOT_BYLINE.search(texts[n - 1][0][-30:] if n else ""):
                continue
            name = _person(texts[n + 1][0], signals)
            if name:
                return ", ".join([name, *_listed_after(texts, n + 1, signals)])
    return None


def _listed_after(texts: list, n: int, signals: dict) -> list[str]:
    """The names after the n-th text when each is a list item ("Author(s)" then
    <li>Jane Doe</li><li>Ann Roe</li>): the co-authors; a name outside a list is not."""
    def in_item(element) -> bool:
        return element.tag == "li" or (element.getparent() is not None
                                       and element.getparent().tag == "li")

    names: list[str] = []
    if not in_item(texts[n][1]):
        return names
    for text, element in texts[n + 1:n + 10]:
        name = _person(text, signals) if in_item(element) else None
        if not name:
            break
        names.append(name)
    return names


def author_class_name(texts: list, signals: dict) -> str | None:
    """The first person's name that is the first text of an element its class names the
    author's (`class="author-name"`)."""
    for text, element in texts:
        node = element
        for _ in range(3):  # the text's element or one just around it
            if node is None:
                break
            if _AUTHOR_CLASS.search(node.get("class") or ""):
                name = _person(text, signals)
                if name:
                    return name
                break
            node = node.getparent()
    return None


_COPYRIGHT = re.compile(r"(?:©|&copy;|\(c\)|copyright)\s*(?:\d{4}\s*(?:[-–]\s*\d{4})?)?\s*",
                        re.IGNORECASE)


_SENTENCE_END = re.compile(r"(?<=[a-z])\.\s")


def site_owner(texts: list, signals: dict) -> str | None:
    """The person a one-person site is named after: its name (og:site_name, the title's
    last piece, the footer's "© 2025 Jane Doe", the menu's "About Jane Doe") a person's,
    and a word of it the host's ("Jane Doe" on jane.example.dev, cassidoo.example for
    "Cassidy"); the name the host is whole ("Jane Doe" on janedoe.dev) only where the
    footer or the menu signs it and the page speaks as one person (_first_person): a
    business's name is its host as often; or the header's link home, where the host is
    its surname ("Jane Doe" on doe.example)."""
    labels = [label for label in signals["host"].split(".")[:-1] if len(label) >= 4]
    pieces = _SEPARATOR.split(signals["title"] or "")
    candidates = [signals["meta"].get("og:site_name"), pieces[-1] if len(pieces) > 1 else None]
    declared = len(candidates)  # the names the site gives itself, then those a person signs
    candidates += [_SENTENCE_END.split(text[m.end():])[0] for text, _ in texts[-60:]
                   for m in [_COPYRIGHT.match(text)] if m]  # "© 2025 Jane Doe. All rights ..."
    candidates += [text[6:] for text, element in texts if element.tag == "a"
                   and text.startswith("About ")][:1]  # the menu's "About Jane Doe"
    home = [text for text, element in texts[:40] if _home_link(element, signals)][:1]
    main = signals["host"].split(".")[-2:-1]  # "doe" of blog.doe.example, not "blog"
    for n, candidate in enumerate(candidates + home):
        name = _clean(candidate)
        if not name or not re.fullmatch(_NAME, name) or not 2 <= len(name.split()) <= 3 \
                or set(_words(name)) & (_MONTH_WORDS | _NOT_NAME | _JOB_WORDS):
            continue
        words = [w for w in _words(name) if len(w) >= 4]
        # the first name, or its first five letters ("Cassidy" on cassidoo.example)
        starts = [w if len(w) < 5 else w[:5] for w in words[:1]]
        if n >= len(candidates):  # the header's link home: a person's where it is the
            # surname of two or three words the host is ("Jane Doe" on doe.example)
            if len(_words(name)[-1]) >= 5 and _words(name)[-1:] == main:
                return name
            continue
        if _words(name)[0] != "the" and any(label.startswith(w) for w in starts
                                            for label in labels) \
                and (_squash(name) not in labels or (n >= declared and _first_person(texts))):
            return name.rstrip(".")  # a first name the host starts with: not "Example Online"
    return None


_I = frozenset(("i", "i'm", "i’m", "i've", "i’ve", "my", "me"))
_WE = frozenset(("we", "our", "us", "we're", "we’re", "we've", "we’ve"))


def _first_person(texts: list) -> bool:
    """Whether the page speaks as one person ("I", "my") far more than as a company ("we",
    "our"): a site named after its host whole ("Jane Doe" on janedoe.example) is then a
    person's, not a business's ("Harbour Works" on harbourworks.example)."""
    words = re.findall(r"[\w’']+", " ".join(t for t, _ in texts).casefold())
    i = sum(w in _I for w in words)
    return i >= 10 and i >= 3 * sum(w in _WE for w in words)


def _home_link(element, signals: dict) -> bool:
    """Whether an element is a link to the site's home page (the header's name)."""
    if element.tag != "a":
        return False
    href = element.get("href") or ""
    parts = urlsplit(href)
    return href == "/" or (parts.path in ("", "/")
                           and (parts.hostname or "").removeprefix("www.") == signals["host"])


# The first sentence of an author's bio: "Jane Doe is a freelance travel writer ...".
_BIO_START = re.compile(rf"^((?-i:{_NAME_WORD}\s+{_NAME_WORD}(?:\s+{_NAME_WORD})?))\s+"
                        r"(?:is|was)\s+(?:a|an|the|our)\b")


_BIO_WORDS = frozenset("author freelance blogger teacher professor researcher scientist "
                       "coach nurse doctor physician therapist designer engineer".split())


_BUSINESS_WORDS = frozenset("company agency firm brand business platform provider service "
                           "services software app tool studio shop store".split())


_BIO_XPATH = '//body//text()[contains(., " is ")]'
_ALONE_XPATH = '//body//*[normalize-space(text()) = $name]'


def bio_name(texts: list, signals: dict, shown_alone=None) -> str | None:
    """The person an author's bio is about: a text opening "Jane Doe is a freelance
    writer ..." (a job's word soon after, no business's: not "Example Movers is a
    licensed moving company") whose name the
    page also shows alone (the bio's heading, the name beside its photo). A name written
    only in a sentence is anyone the text mentions. `shown_alone(name)`, where `texts`
    are only the sentences: whether the page shows the name alone."""
    alone = None
    for text, _ in texts:
        match = _BIO_START.match(text)
        if not match:
            continue
        said = set(_words(text[match.end():match.end() + 80]))
        person = said & (_JOB_WORDS | _BIO_WORDS) and not said & _BUSINESS_WORDS
        name = _person(match.group(1), signals) if person else None
        if not name:
            continue
        if shown_alone is not None:
            if shown_alone(match.group(1)):
                return name
            continue
        if alone is None:
            alone = {t for t, _ in texts if len(t) <= 40}
        if match.group(1) in alone:
            return name
    return None


def fallback_author(tree, signals: dict, weak: bool = False) -> tuple[str | None, str | None]:
    """Where nothing near the headline or declared names the author: a byline label
    elsewhere on the page or an element classed as the author's name (taken before
    trafilatura's byline search), and the person a one-person site is named after (after
    it). Where only a weak name (a login, the site's name) was found: the author's bio
    alone, which replaces it (a label or a name box elsewhere named other people as often
    as the author on the corpus)."""
    if weak:  # one XPath for the bio's sentence, not the whole page's texts (~2.4 ms)
        starts = [(" ".join(t.split()), None) for t in tree.xpath(_BIO_XPATH)]
        found = bio_name(starts, signals, lambda name: bool(tree.xpath(_ALONE_XPATH, name=name)))
        return found or written_by_heading(tree, signals), None
    texts = _page_texts(tree)
    return labelled_anywhere(texts, signals) or written_by_heading(tree, signals) \
        or author_class_name(texts, signals) or data_layer_author(tree, signals) \
        or bio_name(texts, signals), site_owner(texts, signals)


_WRITTEN_BY_XPATH = '//body//*[contains(text(), "ritten by")]'
_WRITTEN_BY_HEADING = re.compile(r"(?:article\s+)?written\s+by\s*[:\-–]?", re.IGNORECASE)
_WRITTEN_BY_HEADINGS = 5


def written_by_heading(tree, signals: dict) -> str | None:
    """The person named just after a "Written by:" / "Article written by:" standing alone
    (an author box's heading at the article's foot), where only the site's name was
    declared: the "written" label, not a bare "By" or "Author", which name other people
    as often (see fallback_author). One XPath, read only on such pages."""
    headings = (element for element in tree.xpath(_WRITTEN_BY_XPATH)
                if _WRITTEN_BY_HEADING.fullmatch(" ".join((element.text or "").split())))
    # The first few only: each looks for the text after it through the rest of the page
    # (libxml2 gathers the whole following axis), so a page of 100,000 such headings
    # would cost its length squared.
    for element in itertools.islice(headings, _WRITTEN_BY_HEADINGS):
        if _skipped(element) or any(_skipped(a) for a in element.iterancestors()):
            continue  # comments, sidebars, scripts: other people's names
        following = element.xpath("following::text()[normalize-space()][1]")
        if not following or following[0].getparent().tag == "a":
            continue  # a link to an author's page: read with its co-authors' (_author_link)
        name = _person(following[0], signals)
        if name:
            return name
    return None


# The post's author as WordPress's Google Tag Manager plugin (GTM4WP) gives it to analytics
# in the page's dataLayer: {"pagePostAuthor": "Jane Doe"}.
_DATA_LAYER_AUTHOR = re.compile(r'"pagePostAuthor"\s*:\s*"([^"]{1,80})"')


def data_layer_author(tree, signals: dict) -> str | None:
    """The author an analytics dataLayer names (one XPath over the scripts, only where
    nothing else named the author), when it is a name and not a login."""
    for script in tree.xpath('//script[contains(., "pagePostAuthor")]/text()'):
        match = _DATA_LAYER_AUTHOR.search(script)
        try:
            value = json.loads(f'"{match[1]}"') if match else None  # "\u00e9" escapes
        except ValueError:
            value = None
        name = clean_author(value, signals["organisations"])
        if name and not _weak_author(name, signals):
            return name
    return None
