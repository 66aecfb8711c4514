"""What kind of HTML page a downloaded page is, read from its lxml tree.

The tests the `articles` spider judges a page by (crawler/discovery.py: does it declare
itself an article, what share of its words are links, is it AMP, which page does it name
canonical), written once on an lxml tree, so that the spider (on its Scrapy response's
tree) and an extraction worker (on the tree it parses anyway, for `newsmill import-warc`)
make the same decision from the same functions (`judge_page`).

Imported by extraction workers: lxml and the standard library only at import time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from lxml import etree

_ARTICLE_LD = re.compile(
    rb'"@type"\s*:\s*(?:\[[^\]]*)?"(?:News|Blog|Report|Tech|Scholarly|Opinion|Analysis|Review)?'
    rb'(?:Article|BlogPosting|LiveBlogPosting)"'
)
# Compiled once: evaluating a compiled XPath skips parsing the expression on every page.
_OG_TYPE = etree.XPath('//meta[@property="og:type"]/@content')
_PUBLISHED_META = etree.XPath('//meta[@property="article:published_time"]')
_JSON_LD = etree.XPath('//script[@type="application/ld+json"]/text()')
_LINKS = etree.XPath("//body//a[@href]")
_LINKED_TEXT = etree.XPath("//body//a[@href]//text()")
_OTHER_TEXT = etree.XPath("//body//text()[not(ancestor::a[@href]) and not(ancestor::script)"
                          " and not(ancestor::style) and not(ancestor::noscript)]")
_PARAGRAPHS = etree.XPath("//body//p")
_PARAGRAPH_TEXT = etree.XPath(".//text()[not(ancestor::a[@href])]")
_CANONICAL = etree.XPath('//link[contains(concat(" ", normalize-space(@rel), " "), " canonical ")]'
                         "/@href")

# A page of links (link_share) whose links hold at least this share of its words is
# navigation for the spider (ArticlesSpider._parse) when its URL is no article's; one whose
# links barely outnumber the rest goes to the judgement in extraction instead, as the
# corpus's short articles in a big menu (guides, firm and agency pages) are.
NAVIGATION_SHARE = 0.55


def declares_article(tree) -> bool:
    """A page that declares itself an article (Open Graph, article:* meta or JSON-LD)."""
    og_type = next(iter(_OG_TYPE(tree)), "")
    if "article" in og_type.lower():
        return True
    if _PUBLISHED_META(tree):
        return True
    return any(_ARTICLE_LD.search(s.encode()) for s in _JSON_LD(tree))


def link_share(tree) -> float:
    """The share of the page's words inside links, on a page with at least 5 links and
    fewer than 3 paragraphs of 30 words or more; 0.0 on any other page."""
    if len(_LINKS(tree)) < 5:
        return 0.0
    linked = _words(_LINKED_TEXT(tree))
    other = _words(_OTHER_TEXT(tree))
    if other >= linked:
        return 0.0  # (the paragraphs need not be counted)
    long = sum(_words(_PARAGRAPH_TEXT(p)) >= 30 for p in _PARAGRAPHS(tree))
    return linked / (linked + other) if long < 3 else 0.0


def _words(texts) -> int:
    return sum(len(t.split()) for t in texts)


def is_amp(tree) -> bool:
    """An AMP page: `<html amp>` or `<html ⚡>` (the AMP specification's marks)."""
    root = tree.getroottree().getroot() if hasattr(tree, "getroottree") else tree
    attributes = getattr(root, "attrib", {})
    return getattr(root, "tag", None) == "html" and ("amp" in attributes or "\u26a1" in attributes)


def canonical_href(tree) -> str | None:
    """What the page's `<link rel="canonical">` names, as written (not joined)."""
    href = str(next(iter(_CANONICAL(tree)), "")).strip()
    return href or None


@dataclass
class JudgedPage:
    """What an HTML page of kind `auto` is, as the articles spider judges it.

    `kind`: "article" (it declares itself one); "listing" (a section page: a start page
    that declares nothing, or a page found on a section page that is a page of links at a
    URL that is no article's); "undeclared" (a page found on a section page, judged by its
    text in extraction, with `mostly_links`). An undeclared page that names another page of
    its site canonical (`elsewhere`) and is AMP counts as `declared`: an AMP page is one of
    its article's pages by rule.
    """

    tree: object
    url: str
    urljoin: Callable[[str], str]  # a link of the page made absolute (its <base href>)
    kind: str
    mostly_links: bool = False

    @cached_property
    def canonical(self) -> str | None:
        """The absolute URL the page's `<link rel="canonical">` names, if any."""
        href = canonical_href(self.tree)
        return self.urljoin(href) if href else None

    @cached_property
    def elsewhere(self) -> bool:
        """It names another page of the same site canonical (its article, for AMP)."""
        from pipelines.urls import clean_url, same_site  # tldextract: only when asked

        canonical = self.canonical
        return bool(canonical) and clean_url(canonical) != clean_url(self.url) \
            and same_site(canonical, self.url)

    @property
    def declared(self) -> bool:
        # is_amp first: the same answer, without the registered domains on most pages.
        return self.kind == "article" or (self.kind == "undeclared" and is_amp(self.tree)
                                          and self.elsewhere)


def judge_page(tree, url: str, urljoin: Callable[[str], str], linked: bool = True) -> JudgedPage:
    """The articles spider's judgement of an HTML page of kind `auto`; `linked`: found on a
    section page (a start page that declares nothing is a section page)."""
    from pipelines.page_metadata import looks_like_article_url

    if declares_article(tree):
        return JudgedPage(tree, url, urljoin, "article")
    if not linked:
        return JudgedPage(tree, url, urljoin, "listing")
    share = link_share(tree)
    if share >= NAVIGATION_SHARE and not looks_like_article_url(url):
        return JudgedPage(tree, url, urljoin, "listing")
    return JudgedPage(tree, url, urljoin, "undeclared", mostly_links=share > 0.5)
