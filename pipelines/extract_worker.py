"""What an extraction worker process runs: one page in, an article's fields out.

Kept apart from the Scrapy pipeline (pipelines.extraction) so a worker imports
trafilatura and newsmill's fingerprints, not Scrapy, Twisted or tldextract: every crawl
starts its workers afresh, and their imports are part of its cost.
"""

from __future__ import annotations

import gc
import logging
import os
import re
import unicodedata
from datetime import UTC, datetime

import charset_normalizer
from lxml import etree
from w3lib.encoding import html_to_unicode

from pipelines.article_fields import choose_fields, searched_author
from pipelines.article_text import newsmill_text, page_titles
from pipelines.field_bounds import bound_fields
from pipelines.fingerprints import content_hash, fingerprints, word_count
from pipelines.mojibake import mend_mojibake, shows_mojibake
from pipelines.page_metadata import read_page_metadata
from pipelines.recognition import read_signals
from pipelines.trafilatura_bounds import bound_author_cleaning, bound_justext_revision
from pipelines.trafilatura_xpaths import faster_pruning

logger = logging.getLogger(__name__)


def extract_article(html: str | bytes, url: str, hints: dict, options: dict,
                    encoding: str | None = None, declared: bool = True,
                    mostly_links: bool = False, judge: bool = False,
                    stored_hash: str | None = None) -> dict:
    """Extract body text and metadata from one page; runs in a worker process.

    `html` may be the raw body with the charset the response declared (None: none): it is
    decoded and parsed here (parse_page), so the reactor thread neither decodes nor pickles
    a str.
    A page that did not declare itself an article (`declared` False) must also read like
    one: see undeclared_verdict (`mostly_links`: the spider found more words in its links
    than outside them).
    `judge`: the page is not judged yet (newsmill import-warc): judged here first, from this
    parse, as the articles spider judges a page found on a section page (judge_linked_page).
    `stored_hash`: the content hash the page's article has in the store (newsmill
    reextract): if the text hashes the same, its near-duplicate keys, which only a changed
    text is judged by, are not worked out (MinHash, ~1 ms a page) and are empty.
    Returns the `Article` fields as a dict, {"not_article": reason}, or {"listing": reason}.

    trafilatura's pruning expressions are tested in Python meanwhile: the same elements,
    about a tenth of the extraction's CPU less (pipelines/trafilatura_xpaths.py).
    """
    bound_author_cleaning()  # once a process: trafilatura's is quadratic on a hostile author
    bound_justext_revision()  # and jusText's on many short paragraphs
    with faster_pruning():
        return _extract_article(html, url, hints, options, encoding, declared, mostly_links,
                                judge, stored_hash)


def _extract_article(html: str | bytes, url: str, hints: dict, options: dict,
                     encoding: str | None, declared: bool, mostly_links: bool, judge: bool,
                     stored_hash: str | None) -> dict:
    """extract_article's work, trafilatura's pruning in Python meanwhile."""
    from trafilatura import bare_extraction
    from trafilatura.utils import normalize_unicode

    tree = parse_page(html, encoding)
    if tree is None:
        return {"not_article": "not parseable as HTML"}
    if judge:
        judged = judge_linked_page(tree, html, url, encoding)
        if judged.kind == "listing":
            return {"listing": "a page of links"}
        declared, mostly_links = judged.declared, judged.mostly_links
    page = read_page_metadata(tree, url)
    undated = not page.get("published")
    found = trafilatura_metadata(tree, url, page, find_day=False, find_links=False)
    # The headline, author and day a reader of the page sees (pipelines.article_fields).
    page = choose_fields(tree, url, page, found)
    answered = None
    if undated and not page.get("published"):
        # htmldate's day (~5-40 ms where it searches the text) is what choose_published
        # falls back on where the page declares no day and shows none under its headline
        # nor in its URL: only then is it looked for. (choose_published returns it as it
        # is in that case and reads found.date nowhere else; find_date copies the tree.)
        answered = _htmldate_day(tree, url)
        found.date = without_year_alone(tree, answered)
        if found.date:
            page["published"] = found.date
    # Before extraction, which prunes the tree it is given.
    signals = None if declared else read_signals(tree, url)
    min_words = options.get("min_words", 10)
    plain = options.get("engine", "newsmill") == "trafilatura"
    text = words = None
    if not plain:
        titles = page_titles(tree, page.get("title") or found.title) + [hints.get("title")]
        text = newsmill_text(tree, url, options, titles)
        # mend_mojibake here too: a page may write it as entities ("isn&acirc;&euro;&trade;t").
        text = mend_mojibake(normalize_unicode(text)) if text else None
        words = word_count(text) if text else 0  # Chinese, Japanese, Thai by characters
        # Never less than plain trafilatura: where the newsmill engine finds no article
        # (nothing, or too few words once cleaned), trafilatura's own text is taken.
        if words < min_words:
            text = None
    if text is None:
        document = bare_extraction(
            tree,
            url=url,
            with_metadata=False,  # found above, for the fields the page does not declare
            favor_precision=plain and options.get("favor_precision", False),
            favor_recall=plain and options.get("favor_recall", False),
            include_comments=options.get("include_comments", plain),
            include_tables=options.get("include_tables", True),
        )
        if document is None or document.body is None:
            return {"not_article": "no main text found"}
        # The same text trafilatura.extract() returns with the same options: bare_extraction
        # has serialised body and comments already (xmltotxt, without formatting), as
        # extract() does.
        text = document.text
        if document.commentsbody is not None:
            text = f"{text}\n{document.comments}".strip()
        text = mend_mojibake(normalize_unicode(text))
        words = word_count(text)  # Chinese, Japanese, Thai counted by characters
    if words < min_words:
        return {"not_article": f"only {words} words of main text"}
    # The recognition model was trained on htmldate's answer, a year alone included: there,
    # a copyright line is a sign of a page that is kept up, which it weighs (stored, it is
    # no day: see without_year_alone).
    if not declared and (reason := undeclared_verdict(
            signals, text, page.get("published") or found.date or answered, url,
            page.get("canonical"), mostly_links)):
        return {"not_article": reason}

    # Only for a page that is an article: the category and tag links trafilatura searches
    # for, where the page declares none.
    hrefs = None
    if not page.get("section") and not found.categories:
        hrefs = _all_hrefs(tree)
        found.categories = linked_categories("category", tree, hrefs)
    if not page.get("tags") and not found.tags:
        found.tags = linked_categories("tag", tree, _all_hrefs(tree) if hrefs is None else hrefs)
    if (not page.get("author") or page.get("author_is_weak")) and not found.author:
        # Last: it prunes the tree. It fills a missing author and replaces a login or the
        # site's name with a person's (article_fields.searched_author). Not searched where
        # searched_author takes another name first: no author chosen, and a labelled name
        # or an author's name box found elsewhere on the page (fallback_author's first).
        fallback = page.get("author_fallback") or (None, None)
        searched = search_author(tree) if page.get("author") or not fallback[0] else None
        page["author"] = searched_author(page.get("author"), page.get("author_is_weak", False),
                                         searched, page.get("organisations", []),
                                         page.get("author_fallback"))
    tags = page.get("tags") or _clean_list(found.tags)
    # The fingerprints dedup judges by, computed here as they cost CPU (MinHash: ~1 ms).
    if stored_hash is not None and content_hash(text) == stored_hash:
        text_hash, keys = stored_hash, []
    else:
        text_hash, keys = fingerprints(text)
    article = {
        "url": url,
        "canonical": page.get("canonical"),  # taken by ExtractionPipeline if on the same site
        # Judged with the canonical by ExtractionPipeline (original_claim), for the same reason.
        "declares_article": page.get("declares_article", False),
        "publisher_url": page.get("publisher_url"),
        "publisher_is_site_name": page.get("publisher_is_site_name", False),
        "title": _mended(page.get("title") or found.title or hints.get("title")),
        "author": _mended(page.get("author") or found.author or hints.get("author")),
        "published": page.get("published") or found.date or hints.get("published"),
        "modified": page.get("modified") or hints.get("modified"),
        "sitename": page.get("sitename"),  # only as declared: see read_page_metadata
        "publisher": page.get("publisher"),
        "description": _mended(page.get("description") or found.description),
        "section": page.get("section") or next(iter(_clean_list(found.categories)), None),
        "tags": tags,
        "image": page.get("image") or found.image,
        "language": page.get("language"),
        "text": text,
        "word_count": words,
        "content_hash": text_hash,
        "near_duplicate_keys": keys,
    }
    # What a page writes in its metadata is as long as it likes: bounded, the cuts logged
    # by ExtractionPipeline.
    article["cut"] = bound_fields(article, options)
    return article


def judge_linked_page(tree, html: str | bytes, url: str, encoding: str | None):
    """The articles spider's judgement of a page found on a section page
    (page_kind.judge_page), on this worker's tree; links are joined to the page's
    <base href> as Scrapy joins them (its first 4096 characters, w3lib's get_base_url)."""
    from urllib.parse import urljoin

    from w3lib.html import get_base_url

    from pipelines.page_kind import judge_page

    def join(href: str) -> str:
        head = html[:16384].decode(encoding or "utf-8", "replace") if isinstance(html, bytes) \
            else html
        return urljoin(get_base_url(head[:4096], url, encoding or "utf-8"), href)

    return judge_page(tree, url, join)


def undeclared_verdict(signals: dict, text: str, date: str | None, url: str,
                       canonical: str | None, mostly_links: bool = False) -> str | None:
    """Why a page that does not say it is an article (a site marking its articles
    og:type=website, a plain CMS) is not one; None when it is.

    Enough main text is not enough: product pages, forum threads, company pages, category
    grids and documentation have it too. pipelines/recognition.py weighs the page's signals
    (`signals`, read before extraction), its text's shape, a date, an article's URL (its own
    or its rel=canonical) and whether the spider found it mostly links (`mostly_links`);
    benchmarks/recognition.py measures it on the shared web-content corpus.
    """
    from pipelines.recognition import verdict

    return verdict(signals, text, date, url, canonical, mostly_links)


def trafilatura_metadata(tree, url: str, page: dict, find_day: bool = True,
                         find_links: bool = True):
    """trafilatura's metadata for what the page does not declare itself.

    The steps of trafilatura.metadata.extract_metadata, in its order, but each finder only
    runs when `page` (read_page_metadata) lacks its field, and the site name is not
    searched for (newsmill stores only a declared one): on every page trafilatura's pass
    costs ~6 ms, most of it the author search (~4 ms where it runs), htmldate, the
    category/tag link search and the licence, which newsmill does not store. The author
    search is left to search_author, run once nothing else reads the tree.
    Returns a trafilatura Document; `date` is htmldate's day, like trafilatura's.
    """
    from trafilatura.metadata import (
        examine_meta,
        extract_catstags,
        extract_meta_json,
        extract_title,
    )

    def missing(field: str) -> bool:
        return not page.get(field)

    found = examine_meta(tree)  # cheap (<1 ms): trafilatura's reading of the meta tags
    if found.author and " " not in found.author:
        found.author = None
    try:
        found = extract_meta_json(tree, found)
    except Exception as exc:  # as trafilatura does: bugs in its JSON-LD reader are not fatal
        logger.debug("trafilatura JSON-LD reading failed for %s: %r", url, exc)
    if missing("title") and not found.title:
        found.title = extract_title(tree)
    if missing("published"):
        found.date = _found_day(tree, url) if find_day else None
    if find_links and missing("section") and not found.categories:
        found.categories = extract_catstags("category", tree)
    if find_links and missing("tags") and not found.tags:
        found.tags = extract_catstags("tag", tree)
    found.clean_and_trim()
    return found


_HREFS = etree.XPath("//@href")


def _all_hrefs(tree) -> str:
    """Every href of the page, one a line (for linked_categories)."""
    return "\n".join(_HREFS(tree))


def linked_categories(metatype: str, tree, hrefs: str) -> list[str]:
    """trafilatura's extract_catstags(metatype, tree): the texts of category ("category")
    or tag ("tag") links in the page's post-meta blocks.

    Its XPath expressions test every element's class with EXSLT regular expressions
    (Python callbacks: ~1-2 ms a page for each kind), and keep only the links whose href
    has "/category/" or "/tag/" (its pattern, searched in each href). Where no href of the
    page has it (`hrefs`: _all_hrefs, one a line, which the pattern cannot span), they
    can keep nothing, so they are not run: a tag search finds nothing, and a category
    search only its fallback, the meta tags (as extract_catstags reads them).
    """
    from trafilatura.metadata import extract_catstags
    from trafilatura.utils import line_processing

    if re.search("/" + metatype.rstrip("y") + "(?:y|ies|s)?/", hrefs):
        return extract_catstags(metatype, tree)
    if metatype != "category":
        return []
    results = [element.attrib["content"] for element in _SECTION_META(tree)]
    return [r for r in dict.fromkeys(line_processing(x) for x in results if x) if r]


# extract_catstags's category fallback.
_SECTION_META = etree.XPath(
    './/head//meta[@property="article:section" or contains(@name, "subject")][@content]')


def _found_day(tree, url: str) -> str | None:
    """htmldate's day for the page, as trafilatura finds it, but never a year alone."""
    return without_year_alone(tree, _htmldate_day(tree, url))


def _htmldate_day(tree, url: str) -> str | None:
    """htmldate's answer for the page, as trafilatura finds it and trims it."""
    from html import unescape

    from htmldate import find_date
    from trafilatura.utils import line_processing

    day = find_date(tree, url=url, **_date_search())
    return line_processing(unescape(day)) if isinstance(day, str) else day


def without_year_alone(tree, day: str | None) -> str | None:
    """htmldate's day, unless it is a year alone given as its 1 January.

    When htmldate finds no date but a year, in a copyright line ("© 2026") or anywhere in
    the text, it gives the year's 1 January: an evergreen guide stored as published on New
    Year's Day (254 of the 1,497 web-content pages, 56 of them articles that show no date).
    So its 1 January stands only where the page writes that day. (Asking htmldate again
    without its search of the text would cost ~10 ms on those pages, a seventh of its first
    search, and found another day on 2 of the 254.)
    """
    if day and day[4:10] == "-01-01" and not shows_new_years_day(tree, day[:4]):
        return None
    return day


# "January" as English, French, German, Dutch, Spanish, Portuguese and Italian write it.
_JANUARY = r"\b(?:jan(?:uary|vier|uar|uari|eiro)?|enero|ene|gennaio|genn?)\.?"


def shows_new_years_day(tree, year: str) -> bool:
    """Whether the page's text writes 1 January of `year`, in digits or words: "2024-01-01",
    "01/01/2024", "January 1st, 2024", "1er janvier 2024", "1. Januar 2024", "1 de enero de
    2024".

    Written here: htmldate (trafilatura's date finder) returns a day, not how precise its
    evidence was, and dateparser reads a date it is given but does not find one in a page.
    """
    pattern = re.compile(
        rf"(?<!\d)(?:{year}[-/.]0?1[-/.]0?1|0?1[-/.]0?1[-/.]{year}"
        rf"|0?1(?:st|er|\.|º)?\s+(?:of\s+|de\s+)?{_JANUARY},?\s+(?:de\s+)?{year})(?!\d)"
        rf"|{_JANUARY}\s+0?1(?:st)?,?\s+{year}(?!\d)", re.IGNORECASE)
    return pattern.search(" ".join(tree.itertext())) is not None


def search_author(tree) -> str | None:
    """trafilatura's author search (metadata.extract_author) on the tree itself.

    extract_author prunes what surrounds bylines from a deep copy of the whole tree (~0.5 ms
    of its ~4 ms on the benchmark site's 170 KB pages, a third of which declare no author).
    extract_article calls this last, when nothing reads the tree again, so here the same
    steps prune the tree itself. The result is trimmed as trafilatura's
    Document.clean_and_trim trims it. tests/test_extraction_matches_trafilatura.py checks
    that it finds trafilatura's author.
    """
    from html import unescape

    from trafilatura.htmlprocessing import prune_unwanted_nodes
    from trafilatura.metadata import extract_metainfo, normalize_authors
    from trafilatura.utils import line_processing
    from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS, AUTHOR_XPATHS

    author = extract_metainfo(prune_unwanted_nodes(tree, AUTHOR_DISCARD_XPATHS), AUTHOR_XPATHS,
                              len_limit=120)
    if author:
        author = normalize_authors(None, author)
    if not author:
        return None
    if len(author) > 10000:
        author = author[:9999] + "…"
    return line_processing(unescape(author)) or None


def _date_search() -> dict:
    """htmldate's options as trafilatura sets them (set_date_params), the newest date
    allowed being today in UTC."""
    return {"original_date": True, "extensive_search": True,
            "max_date": datetime.now(UTC).strftime("%Y-%m-%d")}


def _mended(value: str | None) -> str | None:
    """A field with mojibake written as entities decoded again (pipelines/mojibake.py)."""
    return mend_mojibake(value) if value else value


def _clean_list(values) -> list[str]:
    out: list[str] = []
    for value in values or []:
        for part in re.split(r"\s*[,;]\s*", value or ""):
            if part and part not in out:
                out.append(part)
    return out


def serve(tasks, results, crawl_pid: int, warm: bool = False) -> None:
    """A worker's life (pipelines.extract_pool): a pickled (function, args) in, a pickled
    (ok, result or exception) out, until the crawl closes the task pipe."""
    from pipelines.profiling import profiled

    with profiled("extract"):
        _serve(tasks, results, crawl_pid, warm)


def _serve(tasks, results, crawl_pid: int, warm: bool) -> None:
    import pickle

    start_worker(crawl_pid, warm)
    while True:
        try:
            function, args = pickle.loads(tasks.recv_bytes())
        except EOFError:
            return
        try:
            answer = (True, function(*args))
        except Exception as exc:
            answer = (False, exc)
        try:
            data = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an unpicklable result or exception
            data = pickle.dumps((False, RuntimeError(f"{getattr(function, '__name__', 'task')}: {exc!r}")))
        results.send_bytes(data)


def start_worker(crawl_pid: int, warm: bool = False) -> None:
    """Die with the crawl; get ready to extract (see prepare_worker, warm_up).

    Ctrl-C reaches the whole process group: a worker ignores it, as the crawl it belongs
    to stops on it gracefully, extracting the pages it has fetched, and then closes the
    worker's pipe. A second Ctrl-C stops the crawl at once, and its workers end with it."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(crawl_pid)
    _exit_without_teardown()
    prepare_worker()
    if warm:
        warm_up()
    # As the crawl process does (crawler.runner.tune_garbage_collector): trafilatura's,
    # htmldate's and dateparser's data, loaded now, are not walked by every collection
    # again; a page's objects are freed by reference counting as it is done with. The
    # collections took ~0.2 ms per page (1% of extraction), with this nearly nothing.
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


# A made-up article for warm_up: a page of the usual shape (navigation, headline, byline,
# paragraphs, footer) and its date in words only, so htmldate searches the text as well.
_WARM_UP_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Harbour ferry returns after repairs | The Example Gazette</title>
<meta name="description" content="The ferry across the harbour runs again."></head><body>
<nav><a href="/">Home</a> <a href="/news/">News</a> <a href="/sport/">Sport</a></nav>
<article><h1>Harbour ferry returns after repairs</h1><p class="byline">By Ann Writer</p>
<p class="date">Tuesday, the twelfth of March, 2024</p>
""" + "".join(f"<p>The ferry that crosses the harbour carried its first passengers in weeks "
              f"on morning number {n}, after repairs to its engine took longer than the "
              f"operator had said they would.</p>\n" for n in range(8)) + """</article>
<footer><p>Copyright The Example Gazette</p><a href="/about/">About us</a></footer>
</body></html>"""


def warm_up() -> None:
    """Set up, before the first page, what trafilatura and htmldate set up on first use.

    The first page a worker extracts costs ~0.15 s more than the others, and the first
    date htmldate hands to dateparser ~0.15 s more again (dateparser loads its language
    data then). A worker started with a crawl that will extract many pages pays this
    while the crawl still waits for robots.txt and its listings, not while pages queue.
    """
    from htmldate.extractors import get_external_parser

    extract_article(_WARM_UP_PAGE, "https://example.org/news/ferry.html", {}, {})
    get_external_parser().get_date_data("12 March 2024")


def prepare_worker() -> None:
    """Import trafilatura once per worker, not on the first page; plain HTML elements.

    lxml.html's parsers pick each element's Python class (forms, inputs, labels... have
    classes of their own) in a Python callback run for every element object created:
    ~3,700 calls per page in trafilatura and its readability. None of them uses those
    classes. lxml's own ElementDefaultClassLookup makes every element an HtmlElement
    without the callback: identical output on the benchmark site's 800 pages, 6% less
    extraction CPU (measured alternately in one process). Only in workers, which parse
    nothing else.
    """
    import lxml.html
    from lxml import etree
    from trafilatura.utils import HTML_PARSER

    plain = etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction, entity=lxml.html.HtmlEntity)
    for parser in (HTML_PARSER, lxml.html.html_parser):  # trafilatura's; lxml.html's default
        parser.set_element_class_lookup(plain)


def _exit_without_teardown() -> None:
    """Leave at exit without tearing the interpreter down.

    A spawned worker ends with sys.exit(), and Python's finalization then frees every
    module and object one by one (lxml trees, trafilatura's and htmldate's caches): ~0.15 s
    per worker after a few hundred pages, which the crawl waits for when it closes its
    pool. By then the worker has sent its last result, and multiprocessing has flushed its
    queues and the standard streams (before sys.exit); logging's handlers are flushed here,
    then the process ends at once.
    """
    import atexit

    def leave() -> None:
        logging.shutdown()
        os._exit(0)

    atexit.register(leave)  # atexit runs the last registered first: before any other


def _die_with_parent(crawl_pid: int) -> None:
    """On Linux, ask for SIGKILL when the process that started this worker dies.

    A pool's workers hold their own task queue open, so a crawl killed with SIGKILL
    (which runs no cleanup) would leave them waiting on it for ever.
    """
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    try:
        os.kill(crawl_pid, 0)
    except ProcessLookupError:  # the crawl died before prctl took effect
        os._exit(1)
    except OSError:
        pass


# What trafilatura's load_html deletes before parsing (utils.INVALID_XML_CHARS): the C0
# controls but tab, LF and CR (looked for in the bytes: bytes.translate is the quickest
# test), and U+FFFE and U+FFFF (looked for in the text).
_CONTROL_BYTES = bytes(range(0x09)) + b"\x0b\x0c" + bytes(range(0x0e, 0x20))
_UTF8_BOM = b"\xef\xbb\xbf"
# load_html's checks and repairs look at the page's first 4096 characters at most, and
# at the first line of a page that starts with a doctype: such a page whose first line is
# longer than this takes load_html's path.
_HEAD_CHARS = 16384


def _utf8_or_undeclared(declared: str | None) -> bool:
    """Whether the page is read as UTF-8 first (decode_page), guessed only if it is not."""
    return not declared or declared in ("utf-8", "utf_8")


def parse_page(html: str | bytes, declared: str | None = None):
    """The page's tree as trafilatura's load_html makes it, from the bytes where it can.

    load_html takes text: it deletes the characters XML forbids with a regular expression
    run over the whole page (~1.4 ms of a 170 KB page on the 2-core machine, a third of
    its cost), then lxml turns the text back into bytes for libxml2. A page that is valid
    UTF-8 and that none of load_html's repairs would change is parsed from its bytes with
    trafilatura's own parser instead (its encoding fixed to UTF-8, as lxml fixes the
    text's): the same tree, with a third less CPU (4.2 -> 2.8 ms per corpus page on that
    machine; benchmarks/README.md, sixth session). Written here because load_html has no
    such path; any other page (another charset, forbidden characters, a doctype or
    <html/> it would rewrite) goes through load_html itself, decoded by decode_page.
    Text that was UTF-8 read as latin-1 upstream ("Investorâ\\x80\\x99s") is decoded again
    first (pipelines/mojibake.py), as the page meant it.
    tests/test_page_parsing.py holds the two equal on the corpus and on pages made to need
    each repair.
    """
    from lxml.html import fromstring
    from trafilatura.utils import DOCTYPE_TAG, HTML_PARSER, load_html

    if isinstance(html, str):
        return load_html(mend_mojibake(html))
    if not _utf8_or_undeclared(declared):
        return load_html(mend_mojibake(decode_page(html, declared)))
    try:
        text = html.decode("utf-8-sig")  # as decode_page does first
    except UnicodeDecodeError:
        return load_html(mend_mojibake(decode_page(html, declared)))
    if shows_mojibake(html):
        return load_html(mend_mojibake(text))
    body = html[3:] if html.startswith(_UTF8_BOM) else html
    if len(body.translate(None, _CONTROL_BYTES)) != len(body) \
            or "\ufffe" in text or "\uffff" in text:
        return load_html(text)
    head = text[:_HEAD_CHARS]
    beginning = head[:50].lower()
    if "doctype" in beginning:
        # load_html rewrites the first line (dropping a doctype with a "/" in it) and joins
        # it to the rest with a newline, adding one to a page that has none.
        first, newline, _ = head.partition("\n")
        if not newline or DOCTYPE_TAG.match(first):
            return load_html(text)
    if any("<html" in line and line.endswith("/>") for line in head[:4096].splitlines()[:4]):
        return load_html(text)
    spaces = len(head) - len(head.lstrip())
    if spaces == len(head) or not head[:spaces].isascii():
        return load_html(text)  # lxml.html.fromstring's full-document test could differ
    try:
        tree = fromstring(body, parser=HTML_PARSER)
    except Exception:  # load_html logs and retries in its own way
        return load_html(text)
    if tree is None or len(tree) < 1:
        return load_html(text)
    if "html" not in beginning and len(tree) < 2:
        return None  # load_html's rejection of what is not HTML
    return tree


def decode_page(body: bytes, declared: str | None) -> str:
    """The page as text, decoded right even when its charset is missing or wrong.

    Scrapy decodes with the declared charset, or UTF-8 then cp1252 when none is declared;
    a cp1251 or Shift_JIS page without a declaration, or a latin-1 page that claims
    UTF-8, comes out garbled. When the bytes are not valid UTF-8 and no other charset is
    declared, charset_normalizer's guess is used instead, corrected by western_guess.
    """
    if not _utf8_or_undeclared(declared):
        return html_to_unicode(f"charset={declared}", body)[1]
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    matches = charset_normalizer.from_bytes(body[:200_000])
    guess = matches.best()
    if guess is not None and guess.encoding not in ("utf_8", "utf-8"):
        return body.decode(western_guess(body, matches, guess), errors="replace")
    return body.decode("utf-8", errors="replace")


# Languages written entirely with windows-1252's letters (ISO 639-1 codes, and the names
# charset_normalizer gives its guesses): the pages a latin-1 or cp1252 label was meant for.
# Estonian and Turkish are not among them: their single-byte pages are cp1257 and cp1254.
WESTERN_LANGUAGES = frozenset(
    "af an br ca co cy da de en es eu fi fo fr fy ga gd gl id is it la lb ms nb nl nn no "
    "oc pt rm sq sv sw tl wa".split()) | frozenset(
    "Danish Dutch English Finnish French German Indonesian Italian Norwegian Portuguese "
    "Spanish Swedish".split())
# The languages charset_normalizer recognises that are written in Latin letters windows-1252
# lacks (their pages are cp1250, cp1254, cp1257, cp1258).
OTHER_LATIN_LANGUAGES = frozenset(
    "Croatian Czech Estonian Hungarian Lithuanian Polish Romanian Serbian Slovak Slovene "
    "Turkish Vietnamese".split())
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")  # no character of windows-1252
_HTML_LANG = re.compile(rb"<html\b[^>]*?\blang\s*=\s*[\"']?\s*([A-Za-z]{2,3})\b", re.IGNORECASE)


def western_guess(body: bytes, matches, guess) -> str:
    """windows-1252 instead of charset_normalizer's guess where a Western page was meant.

    On a few paragraphs of French, Spanish or Portuguese, charset_normalizer often ranks a
    Central European or Baltic code page (cp1250, cp1257) first: they decode most accented
    letters alike, so its measures barely tell them apart, and "à", "è", "ñ", "ã" come out
    as "ą", "č", "ń", "ă". Browsers read every latin-1 label as windows-1252, and it is
    what such pages are written in. So when the guess is a Latin-script code page,
    windows-1252 is one of the candidates charset_normalizer found plausible, and the
    page's language (its <html lang>, else the language charset_normalizer recognised)
    is one written with windows-1252's letters, the page is read as windows-1252.
    A Cyrillic or Japanese guess keeps the guess, and so does a text charset_normalizer
    reads as Czech or Polish, say: a template's lang="en" is no proof against it.
    """
    encoding = guess.encoding
    if encoding == "cp1252" or not any("cp1252" in m.could_be_from_charset for m in matches):
        return encoding
    if guess.language in OTHER_LATIN_LANGUAGES:
        return encoding  # it reads as Czech or Polish, say, whatever <html lang> claims
    declared = _HTML_LANG.search(body[:_HEAD_CHARS])
    language = declared[1].decode("ascii").lower() if declared else guess.language
    if language not in WESTERN_LANGUAGES or _CP1252_UNDEFINED.search(body):
        return encoding
    if not all(unicodedata.name(c, "").startswith("LATIN") for c in set(str(guess))
               if c.isalpha() and not c.isascii()):
        return encoding  # the guess reads another script: Cyrillic, Greek, kana...
    return "cp1252"
