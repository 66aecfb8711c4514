"""Whether a page that does not declare itself an article is one: product pages, forum
threads, company service pages, category grids, listings and documentation have enough
text to pass as articles, and a news store must not fill up with them.

The page's signals (read_signals: schema.org types, og:type, prices and cart markup, forms,
repeated cards, links, the shape of its text, a date, an article's URL, docs markup...) are
weighed by a model trained on the shared web-content corpus: the mean of a logistic
regression's probability and that of gradient-boosted trees, which err on different pages
(benchmarks/recognition.py trains it and reports its cross-validation by site). The model is
a JSON file beside this module, `recognition_model.json`: its weights (a dot product) and
trees (walked node by node) are applied here, so a worker imports no machine-learning
library. No signal names a site.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

MODEL_FILE = Path(__file__).with_name("recognition_model.json")

# schema.org types (JSON-LD @type or microdata itemtype) that say what a page is; article
# types are absent on purpose: a page declaring one is taken at its word before this.
_SCHEMA_GROUPS = {
    "ld_product": {"Product", "Offer", "AggregateOffer", "ProductGroup", "IndividualProduct",
                   "SomeProducts", "ProductModel", "Vehicle", "Car", "Book", "MerchantReturnPolicy",
                   "OfferShippingDetails", "UnitPriceSpecification", "PriceSpecification"},
    "ld_forum": {"DiscussionForumPosting", "QAPage", "Comment", "UserComments", "InteractionCounter"},
    "ld_collection": {"CollectionPage", "ItemList", "SearchResultsPage", "OfferCatalog"},
    "ld_software": {"SoftwareApplication", "WebApplication", "MobileApplication", "SoftwareSourceCode",
                    "APIReference"},
    "ld_business": {"Service", "LocalBusiness", "ProfessionalService", "ContactPage", "AboutPage",
                    "FinancialProduct", "Event", "Course", "JobPosting", "Place", "Store"},
    "ld_rating": {"AggregateRating", "Review", "Rating"},
    "ld_faq": {"FAQPage"},
    "ld_person": {"Person"},
}
_LD_TYPE = re.compile(r'"@type"\s*:\s*(\[[^\]]*\]|"[^"]*")')
_QUOTED_WORD = re.compile(r'"(?:https?://schema\.org/)?(\w+)"')
_ITEMTYPE = re.compile(r"schema\.org/(\w+)")

# Words of class and id attributes, each group counted (how many times any of its words
# occurs): what templates call their parts, in most languages of the web alike.
_CLASS_GROUPS = {
    "cls_commerce": "price prices cart basket checkout sku stock shipping product products quantity "
                    "qty wishlist buy purchase variant swatch addtocart",
    "cls_forum": "reply replies thread threads topic topics forum forums message messages comment "
                 "comments avatar username userinfo vote votes upvote quote signature "
                 "postbody answer answers question discussion",
    "cls_docs": "docs doc documentation toc sidebar api highlight highlighted code syntax sphinx "
                "rst markdown reference tabs admonition note warning",
    "cls_article": "article byline author entry story headline dateline published pubdate "
                   "blog posted",
    "cls_cards": "card cards tile tiles grid item items teaser listing results result thumbnail "
                 "carousel slider col",
    "cls_marketing": "hero cta banner pricing plan plans feature features testimonial testimonials "
                     "logo logos benefits btn button",
}

# Path words of URLs (split on / - _ . and digits).
_URL_GROUPS = {
    "url_product": {"product", "products", "p", "dp", "item", "itm", "sku", "buy", "shop", "store",
                    "pd", "prod", "gp"},
    "url_forum": {"forum", "forums", "thread", "threads", "topic", "topics", "t", "questions",
                  "question", "q", "community", "discussion", "discussions", "comments", "r",
                  "viewtopic", "showthread", "board", "boards"},
    "url_docs": {"docs", "doc", "documentation", "api", "reference", "manual", "man", "help",
                 "kb", "wiki", "learn", "library", "sdk", "developer", "developers", "support",
                 "en-us", "latest", "stable", "html"},
    "url_collection": {"category", "categories", "collections", "collection", "c", "tag", "tags",
                       "search", "browse", "list", "lists", "b", "shop", "deals", "catalog",
                       "department"},
    "url_article": {"blog", "blogs", "news", "article", "articles", "post", "posts", "story",
                    "stories", "insights", "magazine", "opinion", "features", "guide", "guides"},
    "url_service": {"services", "service", "solutions", "solution", "pricing", "features",
                    "platform", "industries", "about", "contact", "company", "careers",
                    "consulting", "agency", "software", "integrations"},
}
_URL_WORD = re.compile(r"[a-z]+(?:-[a-z]+)?")
_ARTICLE_PATH = re.compile(r"/(?:19|20)\d\d[/-][01]?\d[/-]|\d{5,}|[^\W_]+(?:[-_][^\W_]+){3,}")
_DATE_IN_PATH = re.compile(r"/(?:19|20)\d\d[/-][01]?\d(?:[/-]|$)")

# A price: a currency sign or code beside a number. (Three expressions, each starting with
# a character class or literal re can look for quickly: one with the three as alternatives
# took ~1.5 ms of a large page.)
_PRICES = (re.compile(r"[$€£¥₹]\s?\d"), re.compile(r"\b(?:USD|EUR|GBP|CAD|AUD|Rs\.?)\s?\d"),
           re.compile(r"\d\s?(?:€|zł|kr\b|EUR\b|USD\b|руб)"))


def _prices(text: str) -> int:
    return sum(len(pattern.findall(text)) for pattern in _PRICES)


_SENTENCE_END = re.compile(r"[.!?…:;\"”'’)»]$")
_SENTENCE = re.compile(r"\w[.!?](?:\s|$)")
_DIGIT = re.compile(r"\d")
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|my|me)\b")
# Documentation generators a page names in <meta name="generator">.
_DOCS_GENERATOR = re.compile(r"sphinx|docusaurus|mkdocs|gitbook|docfx|readthedocs|vitepress|javadoc|doxygen")
# schema.org types that say something of the site, nothing of the page: a page declaring
# only these (a firm's pages often do, through their SEO plug-in) is no more an article
# for it.
_SITE_TYPES = {"Organization", "Corporation", "WebSite", "WebPage", "BreadcrumbList", "ListItem",
               "ImageObject", "SearchAction", "EntryPoint", "PropertyValueSpecification",
               "ReadAction", "ContactPoint", "PostalAddress", "SiteNavigationElement",
               "WPHeader", "WPFooter", "WPSideBar", "Brand", "Thing", "Country", "Language"}
# Types on their own, beside the groups above: which of a group a page declares matters.
_SCHEMA_TYPES = ("Offer", "AggregateRating", "QAPage", "FAQPage", "ItemList", "CollectionPage",
                 "BreadcrumbList", "HowTo", "Recipe", "VideoObject", "Organization", "WebPage",
                 "Person", "Question", "SoftwareApplication", "Product")
# A day written out, as a byline gives it: "March 3, 2024", "3 March 2024", "2024-03-03",
# "03/03/2024", "3 days ago".
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DAY_WRITTEN = re.compile(rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d\d\b"
                          rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\.?\s+(?:of\s+)?{_MONTH},?\s+(?:19|20)\d\d\b"
                          r"|\b(?:19|20)\d\d[-/.][01]?\d[-/.][0-3]?\d\b|\b[0-3]?\d[-/.][01]?\d[-/.](?:19|20)\d\d\b"
                          r"|\b\d+\s+(?:minutes?|hours?|days?|weeks?)\s+ago\b", re.IGNORECASE)
_ARTICLE_TYPE = re.compile(r"\w*(?:Article|BlogPosting|LiveBlogPosting)")
_BY = re.compile(r"\b(?:by|written by|posted by|author)\b", re.IGNORECASE)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")


_TAGS = ("a", "p", "li", "form", "input", "button", "select", "img", "h1", "h2", "h3", "pre",
         "code", "table", "time", "article", "nav", "aside", "blockquote", "dl", "iframe", "svg",
         "label", "textarea", "figure", "video")


def _any_word(words: str) -> tuple[frozenset, tuple]:
    """Words and phrases to count: (single words, phrases of several words)."""
    items = words.split("|")
    return frozenset(w for w in items if " " not in w), tuple(w for w in items if " " in w)


def _count(group: tuple[frozenset, tuple], tokens, text: str) -> int:
    """How often the group's words occur among `tokens` (a Counter), and its phrases in
    `text`. (One regular expression of alternatives per group took ~10 ms a page: Python's
    re tries each alternative at each position.)"""
    singles, phrases = group
    return sum(tokens[w] for w in singles) + sum(text.count(p) for p in phrases)


_TOKEN = re.compile(r"[a-z0-9]+")
_CLASS_PATTERNS = {name: _any_word("|".join(group.split())) for name, group in _CLASS_GROUPS.items()}
# Phrases a page's visible text says (English: most of the web, and of the corpus; a page
# in another language simply has none of them).
_CUES = {
    "cue_article": _any_word("min read|minute read|minutes read|published|posted on|posted by|written by|"
                             "updated on|last updated|share this|related articles|related posts|"
                             "about the author|read more|leave a comment|comments"),
    "cue_service": _any_word("get started|request a demo|book a demo|schedule a|contact us|free trial|"
                             "get a quote|our services|learn more|talk to|sign up|our team|our clients|"
                             "case studies|pricing|trusted by|why choose"),
    "cue_product": _any_word("add to cart|add to bag|add to basket|buy now|in stock|out of stock|"
                             "free shipping|free delivery|quantity|customer reviews|specifications|"
                             "sku|wishlist|checkout|returns|ships"),
    "cue_forum": _any_word("reply|replies|joined|posts|quote|reputation|likes|thread|solved|upvote|"
                           "report|permalink|member|members|moderator|views|log in to reply|"
                           "original poster|accepted answer|answered|asked"),
    "cue_docs": _any_word("parameters|returns|example|examples|syntax|note|see also|api|deprecated|"
                          "edit this page|on this page|table of contents|previous|next|version|"
                          "arguments|default|configuration|install|installation"),
}
_XPATHS: dict[str, object] = {}


def _xpath(expression: str):
    """A compiled XPath (tree.xpath compiles its string on every call). Its strings are
    plain ones: lxml's "smart" strings, which keep a reference to their element, cost
    twice the walk itself on a large page."""
    from lxml import etree

    if expression not in _XPATHS:
        _XPATHS[expression] = etree.XPath(expression, smart_strings=False)
    return _XPATHS[expression]


def read_signals(tree, url: str) -> dict[str, float]:
    """The page's signals the model weighs, read from its tree before extraction prunes it.

    Counted by compiled XPath and by regular expressions over joined strings (in C), not
    by a Python walk over every element.
    """
    from trafilatura.readability_lxml import is_probably_readerable

    # Paragraphs of prose (Mozilla Readability's test, as trafilatura writes it).
    signals: dict[str, float] = {"readerable": float(is_probably_readerable(tree))}
    tags = [element.tag for element in tree.iter(*_TAGS)]
    for tag in _TAGS:
        signals[f"n_{tag}"] = 0
    for tag in tags:
        signals[f"n_{tag}"] += 1
    # Classes and ids.
    classes = " ".join(_xpath("//@class|//@id")(tree)).lower()
    class_words = Counter(_TOKEN.findall(classes))
    signals["n_class_words"] = class_words.total()
    for name, group in _CLASS_PATTERNS.items():
        signals[name] = _count(group, class_words, "")
    # Structured data.
    types = set()
    scripts = _xpath('//script[@type="application/ld+json"]/text()')(tree)
    for script in scripts:
        for found in _LD_TYPE.findall(script):
            types.update(_QUOTED_WORD.findall(found))
    for itemtype in _xpath("//@itemtype")(tree):
        types.update(_ITEMTYPE.findall(itemtype))
    for name, group in _SCHEMA_GROUPS.items():
        signals[name] = float(bool(types & group))
    for name in _SCHEMA_TYPES:
        signals[f"ld_{name}"] = float(name in types)
    # (Article types left out: the page is judged as if it declared none.)
    types = {name for name in types if not _ARTICLE_TYPE.fullmatch(name)}
    signals["ld_any"] = float(bool(types))
    signals["ld_site_only"] = float(bool(types) and types <= _SITE_TYPES)
    ld = " ".join(scripts)
    signals["ld_date"] = float('"datePublished"' in ld)
    signals["ld_author"] = float('"author"' in ld)
    itemprops = _xpath("//@itemprop")(tree)
    metas = {}
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or "").lower()
        if key and key not in metas:
            metas[key] = (meta.get("content") or "").strip().lower()
    signals["itemprop_price"] = sum(1 for p in itemprops if p in ("price", "priceCurrency")) \
        + ("product:price:amount" in metas)
    # (og:type website or none is not read: a page is judged as if it declared nothing,
    # and an article that does not declare itself says website, or nothing.)
    og_type = metas.get("og:type", "")
    signals["og_product"] = float("product" in og_type or "item" in og_type)
    signals["meta_author"] = float(bool(metas.get("author") or metas.get("article:author")
                                        or "author" in itemprops
                                        or _xpath("//@rel[.='author']")(tree)))
    signals["generator_docs"] = float(bool(_DOCS_GENERATOR.search(metas.get("generator", ""))))
    # Headline and title: an article's is a sentence, a product's or a service's a name.
    h1 = _xpath("normalize-space(//h1)")(tree)
    title = _xpath("normalize-space(//title)")(tree)
    signals["h1_words"] = len(h1.split())
    signals["title_words"] = len(title.split())
    # Text and links.
    # (Filtered here: an XPath predicate against scripts' text costs twice the walk itself.)
    hidden = set(_xpath("//body//script/text()|//body//style/text()|//body//noscript/text()"
                        "|//body//template/text()")(tree))
    texts = [text for text in _xpath("//body//text()")(tree) if text not in hidden]
    body_text = " ".join(texts)
    body_words = len(body_text.split())
    link_words = len(" ".join(_xpath("//body//a//text()")(tree)).split())
    signals["body_words"] = body_words
    signals["link_share"] = link_words / body_words if body_words else 1.0
    paragraphs = [len(text.split()) for text in _xpath("//p[not(ancestor::a)]/text()")(tree)]
    signals["p_long"] = sum(1 for n in paragraphs if n >= 30)
    signals["p_words"] = sum(n for n in paragraphs if n >= 30)
    signals["prices"] = _prices(body_text)
    lower = body_text.lower()
    words = Counter(_TOKEN.findall(lower))
    for name, group in _CUES.items():
        signals[name] = _count(group, words, lower)
    # Where the words are: in paragraphs (prose), list items or table cells (grids,
    # menus, specifications), in repeated blocks of one class (cards, posts, results).
    for name, expression in (("p", "//body//p//text()"), ("li", "//body//li//text()"),
                             ("td", "//body//td//text()|//body//th//text()")):
        words_in = len(" ".join(_xpath(expression)(tree)).split())
        signals[f"{name}_share"] = words_in / body_words if body_words else 0.0
    signals["n_repeated_links"] = _xpath(
        "count(//body//*[@class][.//a][@class = following-sibling::*[1]/@class])")(tree)
    signals["n_repeated_dated"] = _xpath(
        "count(//body//*[@class][.//time][@class = following-sibling::*[1]/@class])")(tree)
    signals["n_nav_links"] = _xpath("count(//nav//a|//aside//a)")(tree)
    # Headlines that are links: a list of stories, posts or products, not one of them.
    signals["n_heading_links"] = _xpath("count(//h2[.//a]|//h3[.//a]|//h4[.//a])")(tree)
    signals["n_nested_li"] = _xpath("count(//ul//ul/li|//ol//ol/li)")(tree)
    signals["heading_density"] = 100 * (signals["n_h2"] + signals["n_h3"]) / (body_words + 100)
    # A byline beside the headline: a day written out, "by" or "author", just after it or
    # just before it.
    near = " ".join(_xpath("(//h1)[1]/preceding::text()[position()<=6]")(tree)[-6:]
                    + _xpath("(//h1)[1]/following::text()[position()<=20]")(tree))[:600]
    signals["h1_dated"] = float(bool(_DAY_WRITTEN.search(near)))
    signals["h1_by"] = float(bool(_BY.search(near)))
    # The URL.
    path = urlsplit(url or "").path.lower()
    url_words = set(_URL_WORD.findall(path))
    parts = [p for p in path.split("/") if p]
    signals["url_depth"] = len(parts)
    signals["url_article_shape"] = float(bool(_ARTICLE_PATH.search(path)))
    signals["url_date"] = float(bool(_DATE_IN_PATH.search(path)))
    signals["url_slug_words"] = max((len(re.split(r"[-_]", p)) for p in parts), default=0)
    signals["url_query"] = float(bool(urlsplit(url or "").query))
    last = parts[-1] if parts else ""
    signals["url_last_words"] = len([w for w in re.split(r"[-_.]", last) if w.isalpha()])
    signals["url_numeric"] = float(any(p.isdigit() for p in parts))
    signals["url_page_suffix"] = float(last.endswith((".html", ".htm", ".php", ".aspx", ".asp")))
    signals["url_trailing_slash"] = float(path.endswith("/") and len(parts) > 0)
    for name, group in _URL_GROUPS.items():
        signals[name] = float(bool(url_words & group))
    return signals


def text_signals(text: str, body_words: float) -> dict[str, float]:
    """The shape of the extracted main text: prose in paragraphs, or short lines."""
    lines = [line for line in text.splitlines() if line.strip()]
    counts = [len(line.split()) for line in lines]
    words = sum(counts) or 1
    prose = [n for n, line in zip(counts, lines) if n >= 20 and _SENTENCE_END.search(line.rstrip())]
    sentences = len(_SENTENCE.findall(text))
    lengths = sorted(len(sentence.split()) for line in lines if len(line) > 40
                     for sentence in _SENTENCE_SPLIT.split(line))
    return {
        "text_words": words,
        "text_lines": len(lines),
        "text_share": words / body_words if body_words else 0.0,
        "prose_share": sum(prose) / words,
        "prose_lines": len(prose),
        "short_lines": sum(1 for n in counts if n < 6) / (len(lines) or 1),
        "mean_line": words / (len(lines) or 1),
        "question_lines": sum(1 for line in lines if line.rstrip().endswith("?")) / (len(lines) or 1),
        "text_prices": _prices(text),
        "first_person": len(_FIRST_PERSON.findall(text)) / words,
        "digit_share": len(_DIGIT.findall(text)) / (len(text) or 1),
        "sentences": sentences,
        "sentence_words": words / (sentences or 1),
        "list_lines": sum(1 for line in lines if line.startswith("- ")) / (len(lines) or 1),
        # Sentences of prose run 15-25 words; specifications, posts and menus are shorter.
        "sentence_median": lengths[len(lengths) // 2] if lengths else 0,
        "long_sentences": sum(1 for n in lengths if n >= 12) / (len(lengths) or 1),
    }


def inputs(signals: dict[str, float], text: str, date: str | None, url: str,
           canonical: str | None, mostly_links: bool) -> dict[str, float]:
    """The model's inputs: the page's signals, its text's shape, whether it has a date, an
    article's URL (its own or its canonical) and mostly links; counts on a log scale."""
    values = dict(signals)
    values.update(text_signals(text or "", signals.get("body_words", 0.0)))
    values["date"] = float(bool(date))
    values["canonical_article_shape"] = float(bool(canonical) and bool(
        _ARTICLE_PATH.search(urlsplit(canonical).path.lower())))
    values["mostly_links"] = float(bool(mostly_links))
    return _scaled(values)


def _scaled(signals: dict[str, float]) -> dict[str, float]:
    return {name: (math.log1p(value) if name.startswith(("n_", "cls_", "p_", "prices", "itemprop", "cue_",
                                                          "h1_words", "title_words", "sentences",
                                                          "body_words", "text_words", "text_lines",
                                                          "prose_lines", "text_prices",
                                                          "url_depth", "url_slug", "url_last",
                                                          "sentence_median"))
                   else float(value))
            for name, value in signals.items()}


@functools.cache
def load_model(path: Path = MODEL_FILE) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def article_probability(inputs: dict[str, float], model: dict | None = None) -> float:
    """The model's probability that the page is an article: the mean of a logistic
    regression's and gradient-boosted trees' (they err on different pages)."""
    model = model or load_model()
    x = [inputs.get(name, 0.0) for name in model["features"]]
    logistic, trees = model["logistic"], model["trees"]
    z = logistic["intercept"] + sum(weight * (value - mean) / scale for value, mean, scale, weight
                                    in zip(x, logistic["mean"], logistic["scale"], logistic["coef"]))
    t = trees["base"] + sum(_leaf(tree, x) for tree in trees["trees"])
    return (_sigmoid(z) + _sigmoid(t)) / 2


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))


def _pushes(inputs: dict[str, float], model: dict) -> Counter:
    """How much each input moved the page's log-odds, in both parts of the model: its
    weighted distance from the mean, and the change of value at each node of the page's
    path through a tree that splits on it."""
    names = model["features"]
    x = [inputs.get(name, 0.0) for name in names]
    logistic = model["logistic"]
    pushes = Counter({name: weight * (value - mean) / scale for name, value, mean, scale, weight
                      in zip(names, x, logistic["mean"], logistic["scale"], logistic["coef"])})
    for features, thresholds, lefts, rights, values in model["trees"]["trees"]:
        node = 0
        while (feature := features[node]) >= 0:
            child = lefts[node] if x[feature] <= thresholds[node] else rights[node]
            pushes[names[feature]] += values[child] - values[node]
            node = child
    return pushes


def _leaf(tree: list[list], x: list[float]) -> float:
    """The value of the leaf `x` falls in. A tree is [features, thresholds, lefts, rights,
    values], one item per node, node 0 the root; a leaf's feature is -1. A value at or
    under a node's threshold goes left, as in scikit-learn's trees. (Walked here, not by
    scikit-learn, so that a worker imports no learning library: a few hundred comparisons.)"""
    features, thresholds, lefts, rights, values = tree
    node = 0
    while (feature := features[node]) >= 0:
        node = lefts[node] if x[feature] <= thresholds[node] else rights[node]
    return values[node]


# What a signal means, for the reason a refusal gives (logged at DEBUG by the extraction
# pipeline and counted in runs.not_articles).
_SAID = {
    "ld_product": "schema.org product or offer", "ld_forum": "schema.org forum posts or comments",
    "ld_collection": "schema.org collection or item list", "ld_software": "schema.org software",
    "ld_business": "schema.org service, business or event", "ld_rating": "ratings or reviews",
    "ld_faq": "an FAQ", "og_product": "og:type product", "itemprop_price": "price markup",
    "prices": "prices", "text_prices": "prices in its text", "cls_commerce": "cart and price markup",
    "cls_forum": "forum, reply or comment markup", "cls_docs": "documentation markup",
    "cls_cards": "repeated cards", "cls_marketing": "marketing blocks (hero, plans, buttons)",
    "n_form": "forms", "n_input": "form fields", "n_button": "buttons", "n_select": "menus",
    "n_pre": "code blocks", "n_code": "code", "n_table": "tables", "n_li": "list items",
    "link_share": "mostly links", "mostly_links": "mostly links", "readerable": "no paragraphs of prose",
    "prose_share": "little prose", "prose_lines": "few paragraphs of prose", "p_long": "few long paragraphs",
    "short_lines": "short lines", "question_lines": "questions", "first_person": "first-person posts",
    "date": "no date", "url_article_shape": "no article's URL", "canonical_article_shape": "no article's URL",
    "generator_docs": "a documentation generator", "n_time": "many timestamps",
    "n_article": "many <article> blocks", "url_product": "a product's URL", "url_forum": "a forum's URL",
    "url_docs": "a documentation URL", "url_collection": "a category or search URL",
    "url_service": "a company page's URL", "meta_author": "no author",
    "n_repeated_links": "repeated blocks of links (cards)", "n_repeated_dated": "repeated dated blocks (posts)",
    "n_heading_links": "headlines that are links", "n_nav_links": "menus of links",
    "n_nested_li": "nested menus", "li_share": "text in list items", "td_share": "text in table cells",
    "p_share": "little text in paragraphs", "h1_dated": "no dated byline", "h1_by": "no byline",
    "heading_density": "many headings", "sentence_median": "short sentences",
    "long_sentences": "few long sentences", "ld_site_only": "schema.org for the site, not the page",
}


def _said(name: str) -> str:
    if name in _SAID:
        return _SAID[name]
    return f"schema.org {name[3:]}" if name.startswith("ld_") else name


def verdict(signals: dict[str, float], text: str, date: str | None, url: str,
            canonical: str | None, mostly_links: bool) -> str | None:
    """Why an undeclared page is not an article (its strongest signals), or None if it is."""
    model = load_model()
    values = inputs(signals, text, date, url, canonical, mostly_links)
    probability = article_probability(values, model)
    if probability >= model["threshold"]:
        return None
    pushes = sorted((push, name) for name, push in _pushes(values, model).items())
    reasons = list(dict.fromkeys(_said(name) for push, name in pushes[:3] if push < 0))
    return (f"not declared an article, and not like one (score {probability:.2f}, below "
            f"{model['threshold']:.2f}): {', '.join(reasons)}")
