"""trafilatura's author cleaning and its jusText fallback, bounded: a hostile page costs no
worker minutes.

trafilatura's `normalize_authors` (2.3.1) removes nicknames with a regular expression of an
opening bracket or quote then, lazily, the nearest closing one (AUTHOR_REMOVE_NICKNAME). On
an author of many "(" and no ")" each "(" scans to the end: its length squared, 20,000
characters in a meta tag 2 s of a worker, 300,000 minutes. Every author trafilatura reads
goes through it: meta tags, JSON-LD, its byline search. newsmill stores an author of at
most `max_author_chars` (500), so the string is cut at AUTHOR_CHARS first: no author a
page could have stored changes, and the cost is bounded (~20 ms). Written here because
trafilatura has no bound of its own; the rest of trafilatura is used as it is.

jusText (trafilatura's fallback extractor, and newsmill's balanced mode's) revises each
short paragraph's class by walking to the nearest good or bad paragraph on both sides
(`revise_paragraph_classification`): through a run of n short paragraphs that is n² steps,
20,000 short paragraphs about two minutes of a worker. `revise_classes` gives the same
classes with each side's nearest neighbour found in one pass; jusText 3.0 is not
maintained upstream, so its function is replaced where trafilatura calls it.
"""

from __future__ import annotations

import functools

AUTHOR_CHARS = 2000


def _bounded(normalize_authors):
    @functools.wraps(normalize_authors)
    def bounded(current_authors: str | None, author_string: str) -> str | None:
        return normalize_authors(current_authors, author_string[:AUTHOR_CHARS])

    bounded.newsmill_bounded = True
    return bounded


def bound_author_cleaning() -> None:
    """Put the bounded `normalize_authors` where trafilatura's modules call it (once)."""
    from trafilatura import json_metadata, metadata

    for module in (json_metadata, metadata):
        if not getattr(module.normalize_authors, "newsmill_bounded", False):
            module.normalize_authors = _bounded(module.normalize_authors)


def revise_classes(paragraphs, max_heading_distance: int = 200) -> None:
    """jusText's `revise_paragraph_classification`, in time linear in the paragraphs.

    The same four steps in the same order. Step 2 reads the classes step 1 left (its new
    classes are set afterwards), so both sides' nearest good or bad paragraph (and the
    nearest not short, neargood included) come from one pass each way. In step 3 every
    paragraph before the one revised is good or bad already (shorts went in step 2,
    earlier neargoods in this loop), so its previous neighbour is the paragraph before it;
    its next is the nearest good or bad after it as step 2 left them. Steps 1 and 4 walk
    at most `max_heading_distance` characters, as jusText does; step 1, as jusText's, reads
    the classes ahead of a heading before it has set them (on a fresh page, none).
    """
    n = len(paragraphs)
    # 1. good headings (as jusText)
    for i, paragraph in enumerate(paragraphs):
        paragraph.class_type = paragraph.cf_class
        if paragraph.heading and paragraph.class_type == "short" \
                and _good_ahead(paragraphs, i, max_heading_distance):
            paragraph.class_type = "neargood"
    # 2. classify short: nearest good/bad (and nearest good/bad/neargood) on each side
    classes = [p.class_type for p in paragraphs]
    prev_gb, prev_any = _nearest(classes, range(n))
    next_gb, next_any = _nearest(classes, range(n - 1, -1, -1))
    new_classes = {}
    for i, cls in enumerate(classes):
        if cls != "short":
            continue
        before, after = prev_gb[i], next_gb[i]
        if before == "good" and after == "good":
            new_classes[i] = "good"
        elif before == "bad" and after == "bad":
            new_classes[i] = "bad"
        elif (before == "bad" and prev_any[i] == "neargood") or (after == "bad" and next_any[i] == "neargood"):
            new_classes[i] = "good"
        else:
            new_classes[i] = "bad"
    for i, cls in new_classes.items():
        paragraphs[i].class_type = cls
    # 3. revise neargood
    classes = [p.class_type for p in paragraphs]
    next_gb, _ = _nearest(classes, range(n - 1, -1, -1))
    for i, paragraph in enumerate(paragraphs):
        if paragraph.class_type != "neargood":
            continue
        before = paragraphs[i - 1].class_type if i else "bad"
        paragraph.class_type = "bad" if (before, next_gb[i]) == ("bad", "bad") else "good"
    # 4. more good headings (as jusText)
    for i, paragraph in enumerate(paragraphs):
        if paragraph.heading and paragraph.class_type == "bad" and paragraph.cf_class != "bad" \
                and _good_ahead(paragraphs, i, max_heading_distance):
            paragraph.class_type = "good"


def _good_ahead(paragraphs, i: int, max_distance: int) -> bool:
    """Whether a good paragraph follows paragraph i within `max_distance` characters of the
    ones between (jusText's walk from a heading: it stops past that many characters)."""
    distance = 0
    for j in range(i + 1, len(paragraphs)):  # not a slice: a copy of the rest for each heading
        if distance > max_distance:
            return False
        if paragraphs[j].class_type == "good":
            return True
        distance += len(paragraphs[j].text)
    return False


def _nearest(classes: list[str], order) -> tuple[list[str], list[str]]:
    """For each position, in `order`: the class of the nearest good or bad paragraph before
    it, and of the nearest good, bad or neargood one ("bad" where there is none), as
    jusText's get_prev_neighbour / get_next_neighbour find them."""
    good_or_bad, any_ = ["bad"] * len(classes), ["bad"] * len(classes)
    last_gb = last_any = "bad"
    for i in order:
        good_or_bad[i], any_[i] = last_gb, last_any
        cls = classes[i]
        if cls in ("good", "bad"):
            last_gb = last_any = cls
        elif cls == "neargood":
            last_any = cls
    return good_or_bad, any_


def bound_justext_revision() -> None:
    """Put `revise_classes` where trafilatura calls jusText's revision (once)."""
    from trafilatura import external

    if external.revise_paragraph_classification is not revise_classes:
        external.revise_paragraph_classification = revise_classes
