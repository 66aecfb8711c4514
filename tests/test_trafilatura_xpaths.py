"""trafilatura's pruning expressions tested in Python (pipelines/trafilatura_xpaths.py) give
the elements lxml's XPath gives, on small worst cases and on the corpus pages as the
extraction meets them."""

from __future__ import annotations

import pytest
from lxml import etree, html
from trafilatura import xpaths

from pipelines import trafilatura_xpaths
from pipelines.trafilatura_xpaths import PRUNING_LISTS, faster_pruning, python_test

RE = {"re": xpaths.REGEXP_NS}

PAGE = html.fromstring("""<html><body>
<div class="main-col" id="comments">first attribute class</div>
<div id="comments" class="main-col">first attribute id</div>
<section><div class="x"><h1>Headline</h1></div><div class="infinite-scroll">more</div></section>
<div class="infinite-scroll"><h1>kept: it holds the headline</h1></div>
<ul class="comment-list"><li>a list</li></ul><ol id="comment-3"><li>a list</li></ol>
<div><!-- a comment among the children --><p role="Navigation">nav</p><p class="a">one</p>
<p class="a">two</p><span class="a">three</span><p class="a">four</p></div>
<p style="display: none">hidden</p><p aria-hidden="true">hidden</p><p>no attribute</p>
<div class="a"><div class="a">nested</div></div>
</body></html>""")


def same(path: str, tree=PAGE) -> list:
    """The elements of `path` by lxml and by the Python test, asserted equal."""
    theirs = etree.XPath(path, namespaces=RE)(tree)
    ours = python_test(etree.XPath(path, namespaces=RE))
    assert ours is not None, path
    assert ours(tree) == theirs, path
    return theirs


def texts(elements) -> list[str]:
    return [e.text_content().strip() for e in elements]


def test_an_attribute_pair_is_read_as_xpath_reads_it_its_first_in_source_order():
    found = same(".//*[self::div][re:test(@class|@id, '^comments')]")
    assert texts(found) == ["first attribute id"]
    assert texts(same(".//*[self::div][starts-with(@id|@class, 'main')]")) == ["first attribute class"]
    assert len(same(".//*[re:test(@id, 'comments') or @aria-hidden='true']")) == 3


def test_conditions_nested_in_not_and_descendants():
    found = same(".//*[self::div or self::section][re:test(@class, 'infinite-?scroll')][not(.//h1)]")
    assert texts(found) == ["more"]
    found = same(".//*[self::div or self::ul or self::ol][re:test(@class, 'comment') or "
                 "re:test(@id, '^comment')][not(self::ol or self::ul) or re:test(@id, 'comment-')]")
    assert texts(found) == ["first attribute class", "first attribute id", "a list"]


def test_translate_contains_and_case_flags():
    assert texts(same(".//*[contains(translate(@role, 'N', 'n'), 'nav')]")) == ["nav"]
    assert texts(same(".//*[re:test(@role, 'NAVIG', 'i')]")) == ["nav"]
    assert same(".//*[re:test(@role, 'NAVIG')]") == []
    assert texts(same(".//*[contains(@style, 'display: none') or @data-x]")) == ["hidden"]


def test_positions_first_of_all_and_first_child_of_each_parent():
    """`.//*[P][1]` keeps each parent's first child that passes P (the comment and the
    <span> between are no such child); `(.//*[P])[1]` the first of all."""
    assert texts(same(".//*[self::p or self::div][@class='a'][1]")) == ["one", "nested", "nested"]
    assert texts(same("(.//*[self::p or self::span][@class='a'])[1]")) == ["one"]
    assert same("(.//*[self::p][@class='none'])[1]") == []


def test_a_path_from_the_document_reads_the_whole_tree_from_any_element():
    """`//*` starts from the document, whatever element it is given (the root included);
    `.//*` from the element."""
    section = PAGE.find(".//section")
    assert len(same("//*[@class='a']", section)) == 6
    assert texts(same(".//*[re:test(@class, 'infinite')]", section)) == ["more"]
    assert [e.tag for e in same("//*[self::html or self::body][not(@class)]", section)] == ["html", "body"]


@pytest.mark.parametrize("path", ["(.//article)[1]", "//time|//figure", ".//*[@class='a'][2]",
                                  ".//p[@class='a']", ".//*[rel='me']", ".//*[string-length(@id) > 3]"])
def test_other_shapes_are_left_to_lxml(path):
    assert python_test(etree.XPath(path, namespaces=RE)) is None


def test_the_heavy_expressions_of_this_trafilatura_are_tested_in_python():
    """Where trafilatura's expressions change shape they are run as they are (the same
    results, slower): this fails so that the module is looked at again."""
    for name in ("RAW_TREE_PRUNE_XPATH", "REMOVE_COMMENTS_AND_LISTS_XPATH", "OVERALL_DISCARD_XPATH"):
        assert all(python_test(x) for x in getattr(xpaths, name)), name
    assert python_test(xpaths.BODY_XPATH[0]) and python_test(xpaths.AUTHOR_DISCARD_XPATHS[0])
    assert python_test(xpaths.AUTHOR_XPATHS[1]) and python_test(xpaths.AUTHOR_XPATHS[2])


def test_faster_pruning_puts_trafilaturas_lists_back_even_after_an_error():
    before = {name: list(getattr(xpaths, name)) for name in PRUNING_LISTS}
    with pytest.raises(RuntimeError), faster_pruning():
        assert xpaths.OVERALL_DISCARD_XPATH[0] is python_test(before["OVERALL_DISCARD_XPATH"][0])
        raise RuntimeError
    assert {name: list(getattr(xpaths, name)) for name in PRUNING_LISTS} == before


def test_nested_and_threaded_blocks_put_the_lists_back_once_the_last_ends():
    import threading

    before = list(xpaths.OVERALL_DISCARD_XPATH)
    inside, release = threading.Event(), threading.Event()

    def other():
        with faster_pruning():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    with faster_pruning():
        thread.start()
        assert inside.wait(10)
        with faster_pruning():
            pass
        assert xpaths.OVERALL_DISCARD_XPATH != before  # the inner block ended: still swapped
    assert xpaths.OVERALL_DISCARD_XPATH != before  # the other thread's block still runs
    release.set()
    thread.join(10)
    assert xpaths.OVERALL_DISCARD_XPATH == before


@pytest.mark.corpus
def test_every_python_test_gives_trafilaturas_elements_on_every_corpus_page(monkeypatch):
    """Through the whole extraction of each corpus page (as a page judged in the worker,
    trafilatura's metadata and fallbacks included), every expression replaced is run both
    ways on the tree it is given, and both give the same elements in the same order."""
    from benchmarks.article_site import load_corpus
    from pipelines.extract_worker import extract_article

    calls: dict[str, int] = {}
    plain = trafilatura_xpaths.python_test

    def checked(xpath):
        test = plain(xpath)
        if test is None or isinstance(xpath, trafilatura_xpaths.PythonTest):
            return test

        class Both:
            path = xpath.path

            def __call__(self, tree):
                theirs, ours = xpath(tree), test(tree)
                assert ours == theirs, xpath.path
                calls[xpath.path] = calls.get(xpath.path, 0) + 1
                return ours

        return Both()

    monkeypatch.setattr(trafilatura_xpaths, "python_test", checked)
    monkeypatch.setattr(trafilatura_xpaths, "_REPLACED", {})
    pages = load_corpus()
    for n, page in enumerate(pages):
        extract_article(page.encode(), f"https://example.org/news/{n}.html", {}, {}, "utf-8",
                        declared=False, judge=True)
    # Each of the five heaviest, on (nearly) every page.
    heavy = [xpaths.RAW_TREE_PRUNE_XPATH[0], xpaths.REMOVE_COMMENTS_AND_LISTS_XPATH[0],
             xpaths.OVERALL_DISCARD_XPATH[0], xpaths.OVERALL_DISCARD_XPATH[1], xpaths.BODY_XPATH[0]]
    assert all(calls.get(x.path, 0) >= len(pages) * 0.9 for x in heavy), calls
