"""jusText's paragraph revision in linear time (pipelines/trafilatura_bounds.revise_classes).

trafilatura falls back on jusText, whose revision walks through a whole run of short
paragraphs for each of them: 8,000 short lines cost 4.5 s of a worker, 80,000 minutes.
newsmill puts a linear copy in its place, which must classify exactly as jusText does."""

from __future__ import annotations

import random

import lxml.html
from justext.core import ParagraphMaker, classify_paragraphs, revise_paragraph_classification
from justext.utils import get_stoplist

from pipelines.trafilatura_bounds import bound_justext_revision, revise_classes


class Paragraph:
    """What the revision reads of a jusText paragraph."""

    def __init__(self, cf_class: str, heading: bool, text: str, class_type: str = ""):
        self.cf_class, self.heading, self.text, self.class_type = cf_class, heading, text, class_type


def random_paragraphs(rng: random.Random) -> list[Paragraph]:
    classes = rng.choice([("short", "good", "bad"), ("short",) * 6 + ("good", "bad"), ("short", "bad")])
    # A class left from an earlier revision, or none (jusText's first step reads the classes
    # ahead of a heading before it has set them: a fresh page never has "neargood").
    return [Paragraph(rng.choice(classes), rng.random() < 0.3, "x" * rng.choice([0, 5, 60, 120, 400]),
                      rng.choice(["", "", "good", "bad", "short"]))
            for _ in range(rng.randint(0, 40))]


def test_the_linear_revision_classifies_as_justext_does():
    rng = random.Random(28)
    for case in range(5000):
        ours = random_paragraphs(rng)
        theirs = [Paragraph(p.cf_class, p.heading, p.text, p.class_type) for p in ours]
        distance = rng.choice([0, 150, 200])
        revise_classes(ours, distance)
        revise_paragraph_classification(theirs, distance)
        assert [p.class_type for p in ours] == [p.class_type for p in theirs], case


def page_paragraphs(lines: int) -> list:
    """jusText's paragraphs of a page of short lines, classified as trafilatura asks."""
    tree = lxml.html.fromstring("<html><body><div><h2>Notes</h2>" + "".join(
        f"<p>Line {i} here</p>" + ("<p>" + "A longer sentence of plain words for the reader. " * 4 + "</p>"
                                   if i % 997 == 0 else "") for i in range(lines)) + "</div></body></html>")
    paragraphs = ParagraphMaker.make_paragraphs(tree)
    classify_paragraphs(paragraphs, get_stoplist("English"), 50, 150, 0.1, 0.2, 0.25, True)
    return paragraphs


def test_a_page_of_short_lines_is_revised_as_justext_does_and_in_linear_time():
    """2,000 lines both ways, identical; then 200,000 lines, which jusText's own revision
    would take hours over (its steps grow as the square of the run of short lines), within
    the suite's per-test timeout."""
    ours, theirs = page_paragraphs(2000), page_paragraphs(2000)
    revise_classes(ours, 150)
    revise_paragraph_classification(theirs, 150)
    assert [p.class_type for p in ours] == [p.class_type for p in theirs]
    assert {p.class_type for p in ours} >= {"good", "bad"}
    revise_classes(page_paragraphs(200_000), 150)


def test_trafilatura_calls_the_linear_revision_once_installed():
    from trafilatura import external

    bound_justext_revision()
    assert external.revise_paragraph_classification is revise_classes
