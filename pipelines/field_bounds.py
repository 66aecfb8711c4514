"""Bounds on an article's metadata fields: a page cannot store a 2 MB title.

The page writes these fields, so they are as long as it likes; the text is what an
article is, and is not bounded here (DOWNLOAD_MAXSIZE bounds it).
"""

from __future__ import annotations

import re
import unicodedata

# The fields bounded, and the option (from the EXTRACT_MAX_* settings) naming each bound.
FIELD_BOUNDS = {
    "title": "max_title_chars",
    "author": "max_author_chars",
    "description": "max_description_chars",
    "section": "max_section_chars",
    "sitename": "max_name_chars",
    "publisher": "max_name_chars",
}
DEFAULTS = {
    "max_title_chars": 500,
    "max_author_chars": 500,
    "max_description_chars": 2000,
    "max_section_chars": 300,
    "max_name_chars": 200,
    "max_tag_chars": 200,
    "max_tags": 100,
    "max_image_url_chars": 2048,
}
ELLIPSIS = "…"
# What may not end a cut value: spaces and the punctuation that joined it to what is cut.
_TRAILING = " \t\n,;:-–—/|·•"
# A cut that would lose more than this share of the allowed length to reach a space is
# made at a character instead (a run of text without spaces: Chinese, Japanese, a URL).
_WORD_BOUNDARY_SLACK = 0.3
_LAST_SPACE = re.compile(r"\s\S*\Z")


def cut(value: str, limit: int) -> str:
    """`value` shortened to at most `limit` characters, ending in "…": at the last space
    when there is one near the end, never inside a character's combining marks or an
    emoji sequence."""
    if len(value) <= limit:
        return value
    end = max(limit - len(ELLIPSIS), 0)
    while 0 < end < len(value) and _continues(value, end):
        end -= 1
    head = value[:end]
    if _in_word(value, end):  # back to the space before the word, if near
        space = _LAST_SPACE.search(head)
        if space and space.start() >= end * (1 - _WORD_BOUNDARY_SLACK):
            head = head[:space.start()]
    return head.rstrip(_TRAILING) + ELLIPSIS


def _in_word(value: str, end: int) -> bool:
    """Whether value[end] goes on a word ("l'été", "co-op" included)."""
    nxt = value[end]
    return nxt.isalnum() or (nxt in "'’-‐" and end + 1 < len(value) and value[end + 1].isalnum())


def _continues(value: str, end: int) -> bool:
    """Whether value[end] belongs to the character before it (a mark, a joiner, a
    variation selector, an emoji modifier), or value[end - 1] joins it to the next."""
    nxt, prev = value[end], value[end - 1]
    return (unicodedata.category(nxt) in ("Mn", "Me", "Mc")
            or nxt in "\u200d\u200c" or prev == "\u200d"
            or "\ufe00" <= nxt <= "\ufe0f" or "\U000e0100" <= nxt <= "\U000e01ef"
            or "\U0001f3fb" <= nxt <= "\U0001f3ff")


def bound_fields(article: dict, options: dict) -> dict[str, str]:
    """Cut the article's metadata fields to their bounds, in place.

    Returns what was cut, field by field, for the crawl's log. An image URL over its bound
    is dropped, not cut: a shortened URL names nothing.
    """
    def bound(name: str) -> int:  # unset or 0: the default
        return int(options.get(name) or DEFAULTS[name])

    cuts: dict[str, str] = {}
    for field, option in FIELD_BOUNDS.items():
        value = article.get(field)
        if isinstance(value, str) and len(value) > bound(option):
            cuts[field] = f"{len(value)} characters cut to {bound(option)}"
            article[field] = cut(value, bound(option))
    tags = article.get("tags") or []
    longest = max(map(len, tags), default=0)
    if len(tags) > bound("max_tags") or longest > bound("max_tag_chars"):
        cuts["tags"] = (f"{len(tags)} tags, the longest {longest} characters, cut to "
                        f"{bound('max_tags')} of at most {bound('max_tag_chars')}")
        bounded = (cut(t, bound("max_tag_chars")) for t in tags[:bound("max_tags")])
        article["tags"] = list(dict.fromkeys(bounded))
    image = article.get("image")
    if isinstance(image, str) and len(image) > bound("max_image_url_chars"):
        cuts["image"] = f"a URL of {len(image)} characters dropped (over {bound('max_image_url_chars')})"
        article["image"] = None
    return cuts
