"""The title, author and publication day newsmill stores are the ones a reader of the page
sees: the headline without the site's name, a person's name without its "By", the day
shown. Small pages for each rule, a crawl that stores them, and the shared corpora's
accuracy held where it stands (benchmarks/field_accuracy.py)."""

from __future__ import annotations

import json
import os

import pytest

from benchmarks.field_accuracy import NO_DAY, SHARED_CORPORA, measure
from pipelines.extract_worker import extract_article

# The corpus fixture extracts every page (minutes): the module's tests share one xdist
# worker, so that it runs once, not once on each worker a test lands on.
pytestmark = pytest.mark.xdist_group("corpus-fields")

PARAGRAPHS = "\n".join(
    f"<p>The harbour wall that the storm broke in October is being rebuilt, section {n} of "
    f"twelve, and the fishing boats wait in the outer basin until the work is done.</p>"
    for n in range(8))


def page(head: str = "", before_body: str = "", headline: str | None = None,
         lang: str = "en") -> str:
    h1 = f"<h1>{headline}</h1>" if headline else ""
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">{head}</head><body>'
            f'<nav><a href="/">Home</a> <a href="/news/">News</a></nav><article>{h1}'
            f"{before_body}{PARAGRAPHS}</article><footer>About us</footer></body></html>")


def fields(html: str, url: str = "https://news.example.org/local/harbour-wall-rebuilt") -> dict:
    article = extract_article(html.encode(), url, {}, {}, "utf-8")
    assert "not_article" not in article, article
    return {k: article[k] for k in ("title", "author", "published")}


def ld(**values) -> str:
    return f'<script type="application/ld+json">{json.dumps({"@type": "NewsArticle", **values})}</script>'


# --- title -------------------------------------------------------------------------

def test_title_loses_the_site_name_the_page_declares():
    head = ('<title>Harbour wall to be rebuilt by spring | The Coastal Gazette</title>'
            '<meta property="og:site_name" content="The Coastal Gazette">')
    assert fields(page(head))["title"] == "Harbour wall to be rebuilt by spring"


def test_title_loses_the_host_name_after_a_dash():
    head = "<title>Harbour wall to be rebuilt by spring - Coastal Gazette</title>"
    url = "https://www.coastalgazette.example/local/harbour-wall"
    assert fields(page(head), url)["title"] == "Harbour wall to be rebuilt by spring"


def test_a_headline_ending_in_a_name_that_is_not_the_site_keeps_it():
    headline = "Russian-US Summit Will Be in Demand by Both Sides at Some Point - Kremlin"
    head = (f"<title>{headline} | World Wire</title>"
            '<meta property="og:site_name" content="World Wire">')
    assert fields(page(head))["title"] == headline


def test_the_visible_headline_is_taken_over_a_rewritten_og_title():
    head = ('<meta property="og:title" content="Harbour wall rebuilt by spring - Gazette">'
            "<title>Harbour wall rebuilt by spring - Gazette</title>")
    headline = "Harbour wall will be rebuilt by spring, council says"
    assert fields(page(head, headline=headline))["title"] == headline


def test_a_site_logo_in_an_h1_is_not_the_headline():
    head = ('<title>Harbour wall to be rebuilt by spring | The Coastal Gazette</title>'
            '<meta property="og:site_name" content="The Coastal Gazette">')
    assert fields(page(head, headline="The Coastal Gazette"))["title"] \
        == "Harbour wall to be rebuilt by spring"


@pytest.mark.parametrize("h1", [
    "Dec 18 2025 Harbour wall to be rebuilt by spring",         # a dateline inside the <h1>
    "Harbour wall to be rebuilt by spring (gazette.example.com)",  # the source's address
    "Harbour wall to be rebuilt by spring Posted on March 3, 2026 by jdoe",
])
def test_a_dateline_inside_the_h1_is_not_part_of_the_headline(h1):
    head = '<meta property="og:title" content="Harbour wall to be rebuilt by spring">'
    assert fields(page(head, headline=h1))["title"] == "Harbour wall to be rebuilt by spring"


def test_an_h1_longer_than_the_title_tags_by_words_of_its_own_is_kept():
    head = '<meta property="og:title" content="Harbour wall costs">'
    h1 = "Harbour wall costs: a room-by-room breakdown"
    assert fields(page(head, headline=h1))["title"] == h1


def test_a_declared_headline_cut_off_mid_phrase_is_completed_from_the_title_tag():
    head = ('<meta property="og:title" content="Harbour wall rebuilt (with the council">'
            "<title>Harbour wall rebuilt (with the council's money) - Coastal Gazette</title>"
            '<meta property="og:site_name" content="Coastal Gazette">')
    assert fields(page(head))["title"] == "Harbour wall rebuilt (with the council's money)"


def test_an_h1_that_is_a_piece_of_a_title_holding_a_long_tagline_is_the_headline():
    tagline = ("I write about harbours and the sea, slowly and with care, from the coast where I "
               "live. It is meaningful. It is imperfect. So I lean on gratitude.")
    head = f'<meta property="og:title" content="Harbour wall rebuilt | {tagline}">'
    assert fields(page(head, headline="Harbour wall rebuilt"))["title"] == "Harbour wall rebuilt"


def test_a_line_break_inside_the_h1_separates_its_words():
    head = "<title>Harbour Wall Rebuilt | Coastal Gazette</title>"
    assert fields(page(head, headline="HARBOUR<br>WALL<br><span>REBUILT</span>"))["title"] \
        == "HARBOUR WALL REBUILT"


def test_an_h1_that_lost_its_apostrophe_to_a_question_mark_yields_to_the_title_tags():
    head = "<meta property=\"og:title\" content=\"Harbour wall: the council's plan\">"
    assert fields(page(head, headline="Harbour wall? the council? plan"))["title"] \
        == "Harbour wall: the council's plan"


def test_an_h1_of_question_marks_is_compared_with_the_title_tags_in_good_time():
    """A headline whose 60 characters all became "?" (a CJK headline decoded with the wrong
    charset), beside title tags it is no copy of: each "?" stands for one or two characters,
    and a regular expression tried every way to split the tag (30 of them: 10 s)."""
    head = '<meta property="og:title" content="Harbour wall ' + "ab" * 60 + 'c plan">'
    headline = "Harbour wall " + "?" * 60 + " plan"
    assert fields(page(head, headline=headline))["title"] == headline


def test_a_question_in_the_h1_is_not_taken_for_a_lost_character():
    head = '<meta property="og:title" content="Will the harbour wall hold!">'
    assert fields(page(head, headline="Will the harbour wall hold?"))["title"] \
        == "Will the harbour wall hold?"


def test_a_utf8_headline_on_a_page_served_as_latin1_is_decoded_again():
    headline = "The council\u2019s harbour wall plan"
    html = page(f'<meta property="og:title" content="{headline}"><title>{headline}</title>',
                headline=headline)
    article = extract_article(html.encode(), "https://news.example.org/local/wall", {}, {},
                              "iso-8859-1")  # what the server declared: every copy garbled
    assert article["title"] == headline


def test_a_section_label_before_the_h1_that_no_title_tag_keeps_goes():
    head = ('<meta property="og:title" content="Harbour wall rebuilt | Coastal Gazette">'
            "<title>Harbour wall rebuilt | Coastal Gazette</title>"
            '<meta property="og:site_name" content="Coastal Gazette">')
    assert fields(page(head, headline="Blog: Harbour wall rebuilt"))["title"] \
        == "Harbour wall rebuilt"


def test_a_label_glued_to_the_h1_by_its_colon_that_no_title_tag_keeps_goes():
    head = '<meta property="og:title" content="Harbour wall rebuilt">'
    headline = '<span class="descriptor">Title:</span>Harbour wall rebuilt'
    assert fields(page(head, headline=headline))["title"] == "Harbour wall rebuilt"


def test_a_label_that_a_title_tag_keeps_stays_in_the_headline():
    head = ('<meta property="og:title" content="Review: Harbour wall rebuilt">'
            "<title>Harbour wall rebuilt | Coastal Gazette</title>")
    assert fields(page(head, headline="Review: Harbour wall rebuilt"))["title"] \
        == "Review: Harbour wall rebuilt"


def test_an_h1_whose_headline_and_subtitle_ran_together_yields_to_the_title_tags():
    """Two lines the style sheet sets apart, glued in the text ("RebuiltHow the ...")."""
    head = ('<meta property="og:title" content="Harbour Wall Rebuilt: The Council\'s Plan">'
            "<title>Harbour Wall Rebuilt: The Council's Plan | Coastal Gazette</title>")
    headline = "Harbour Wall Rebuilt<span>How the council plans the work for the boats</span>"
    assert fields(page(head, headline=headline))["title"] \
        == "Harbour Wall Rebuilt: The Council's Plan"


def test_a_word_split_by_an_inline_element_in_the_h1_stays_one_word():
    head = '<meta property="og:title" content="Cycle lanes on the harbour wall">'
    assert fields(page(head, headline="C<i>ycle</i> lanes on the harbour wall"))["title"] \
        == "Cycle lanes on the harbour wall"


def test_a_kicker_line_before_the_h1s_headline_that_no_title_tag_keeps_goes():
    head = ('<meta property="og:title" content="Harbour wall rebuilt | Coastal Gazette">'
            "<title>Harbour wall rebuilt | Coastal Gazette</title>"
            '<meta property="og:site_name" content="Coastal Gazette">')
    headline = "<div>Read the story</div> <span>Harbour wall rebuilt</span>"
    assert fields(page(head, headline=headline))["title"] == "Harbour wall rebuilt"


def test_a_subtitle_after_the_h1s_headline_stays_where_the_title_tags_keep_the_headline():
    head = "<title>Harbour wall rebuilt | Coastal Gazette</title>"
    headline = "<span>Harbour wall rebuilt</span> <span>The council's plan for the boats</span>"
    assert fields(page(head, headline=headline))["title"] \
        == "Harbour wall rebuilt The council's plan for the boats"


def test_h1s_and_h2s_of_many_glued_elements_are_read_in_good_time():
    """An `<h1>` of 100,000 elements whose texts run together, and 2,000 `<h2>`s of 50:
    each is read once in a walk of its elements (headline_element reads every heading the
    way the title does), none kept as a headline: too long."""
    head = '<meta property="og:title" content="Harbour wall rebuilt">'
    glued = "<span>aB</span>" * 100_000
    h2s = ("<h2>" + "<b>cD</b>" * 50 + "</h2>") * 2_000
    html = page(head, before_body=h2s, headline=glued)
    assert fields(html)["title"] == "Harbour wall rebuilt"


def test_the_day_beside_an_h1_with_a_line_break_is_read_beside_it():
    """headline_element reads an `<h1>` as the title is read ("WEEKEND<br>CODING" is two
    words): it finds the headline's own `<h1>`, not the page's first (a logo's)."""
    head = ('<title>Weekend Coding | Coastal Gazette</title>'
            '<meta property="og:site_name" content="Coastal Gazette">')
    html = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">' + head + "</head><body>"
            "<header><h1>Coastal Gazette</h1><p>Published 3 March 2021</p></header><article>"
            "<h1>WEEKEND<br>CODING</h1><p>By Jane Doe, 5 June 2024</p>" + PARAGRAPHS
            + "</article></body></html>")
    got = fields(html)
    assert (got["title"], got["published"][:10]) == ("WEEKEND CODING", "2024-06-05")


def test_the_sites_address_before_the_headline_in_the_title_tag_goes():
    url = "https://janedoe.example/archives/2025/12/16/harbour_wall.html"
    head = "<title>janedoe.example Harbour wall rebuilt</title>"
    assert fields(page(head, headline="janedoe.example"), url)["title"] == "Harbour wall rebuilt"


def test_entities_escaped_twice_are_undone():
    head = '<meta property="og:title" content="The harbour&amp;#8217;s wall is rebuilt">'
    assert fields(page(head))["title"] == "The harbour’s wall is rebuilt"


# --- author ------------------------------------------------------------------------

def test_by_prefix_is_not_part_of_the_author():
    assert fields(page('<meta name="author" content="By Jane Doe">'))["author"] == "Jane Doe"


def test_an_author_url_gives_way_to_the_byline():
    head = ld(headline="Harbour wall rebuilt", author={"@type": "Person",
                                                       "url": "https://social.example/jdoe",
                                                       "name": "https://social.example/jdoe"})
    byline = '<p class="byline">By Jane Doe | March 3, 2026</p>'
    assert fields(page(head, byline, headline="Harbour wall rebuilt"))["author"] == "Jane Doe"


def test_the_publisher_is_never_the_author():
    head = ld(headline="Harbour wall rebuilt", author={"@type": "Organization", "name": "Gazette Media"},
              publisher={"@type": "Organization", "name": "Gazette Media"})
    assert fields(page(head, headline="Harbour wall rebuilt"))["author"] is None


def test_a_date_and_a_job_title_after_the_name_are_not_the_author():
    head = '<meta name="author" content="Jane Doe Senior Reporter • March 3, 2026">'
    assert fields(page(head))["author"] == "Jane Doe"


def test_co_authors_in_elements_of_their_own_are_joined_as_one_writes_them():
    # Each name in its own link, the commas between them in the text: "Jane Doe , Ann Roe".
    byline = ('<p class="byline">By <a href="/people/jane">Jane Doe</a> , <a href="/people/ann">Ann Roe</a>'
              ' , <a href="/people/li">Li Wei</a></p>')
    assert fields(page("", byline, headline="Harbour wall rebuilt"))["author"] == "Jane Doe, Ann Roe, Li Wei"


def test_by_in_a_sentence_under_the_headline_is_no_byline():
    lead = "<p>The harbour, bought by Example Holdings last year, reopens on Monday.</p>"
    assert fields(page(before_body=lead, headline="Harbour wall rebuilt"))["author"] is None


def test_a_name_alone_under_the_headline_before_its_date_is_the_byline():
    byline = "<p>Jane Doe · March 3, 2026 · 4 min read</p>"
    assert fields(page(before_body=byline, headline="Harbour wall rebuilt"))["author"] == "Jane Doe"


def test_several_authors_are_joined_with_commas():
    head = ld(headline="Harbour wall rebuilt", author=[{"@type": "Person", "name": "Jane Doe"},
                                                       {"@type": "Person", "name": "Ann Writer"}])
    assert fields(page(head))["author"] == "Jane Doe, Ann Writer"


def test_a_one_person_blog_named_after_its_author_keeps_the_author():
    head = ld(headline="Harbour wall rebuilt", author={"@type": "Person", "name": "Jane Doe"}) \
        + '<script type="application/ld+json">{"@graph": [{"@type": ["Person", "Organization"],' \
          ' "name": "Jane Doe"}]}</script><meta property="og:site_name" content="Jane Doe">'
    assert fields(page(head))["author"] == "Jane Doe"


def test_the_written_by_pair_of_twitter_card_tags_names_the_author():
    head = ('<meta name="twitter:label1" content="Written by">'
            '<meta name="twitter:data1" content="Jane Doe">')
    assert fields(page(head))["author"] == "Jane Doe"


@pytest.mark.parametrize("login", ["jdoe", "jane.doe", "JaneD", "NOC Admin"])
def test_a_declared_login_gives_way_to_the_byline_shown(login):
    head = f'<meta name="author" content="{login}">'
    byline = '<p class="byline">By Jane Doe · March 3, 2026</p>'
    assert fields(page(head, byline, headline="Harbour wall rebuilt"))["author"] == "Jane Doe"


def test_trafilaturas_reading_of_a_declared_login_is_no_name_either():
    head = '<meta name="author" content="jane.doe">'
    byline = "<p>By Ann Writer · March 3, 2026</p>"
    assert fields(page(head, byline, headline="Harbour wall rebuilt"))["author"] == "Ann Writer"


def test_a_templates_placeholder_is_no_author():
    head = '<meta name="author" content="page.head.extra.author">'
    assert fields(page(head))["author"] is None


def test_a_declared_login_is_kept_where_the_page_names_no_one_else():
    assert fields(page('<meta name="author" content="jdoe">'))["author"] == "jdoe"


def test_the_sites_name_declared_as_a_person_gives_way_to_the_byline_shown():
    head = (ld(headline="Harbour wall rebuilt", author={"@type": "Person", "name": "Coastal Gazette"})
            + '<meta property="og:site_name" content="Coastal Gazette">')
    byline = "<p>by Jane Doe ● March 3, 2026 ● 6 min read</p>"
    assert fields(page(head, byline, headline="Harbour wall rebuilt"))["author"] == "Jane Doe"


def test_a_name_shown_under_the_headline_wins_over_the_sites_name_declared():
    head = ('<meta name="author" content="Coastal Gazette">'
            '<meta property="og:site_name" content="Coastal Gazette">')
    byline = "<p>Jane Doe Mar 3, 2026 | Last updated on Mar 4, 2026</p>"
    assert fields(page(head, byline, headline="Harbour wall rebuilt"))["author"] == "Jane Doe"


def test_words_under_the_headline_that_are_no_name_are_not_the_byline():
    head = '<meta name="author" content="q_admin">'
    lead = "<p>Blockchain and Web3 technologies have evolved since 2015 and now underpin...</p>"
    assert fields(page(head, lead, headline="Harbour wall rebuilt"))["author"] != "Blockchain and Web"


def test_a_phrase_with_a_number_under_the_headline_is_not_a_byline():
    lead = "<p>Harbour Walls 101: the ultimate guide for beginners and harbour masters.</p>"
    assert fields(page(before_body=lead, headline="Harbour wall rebuilt"))["author"] is None


def test_a_byline_a_word_longer_than_the_declared_name_keeps_the_declared_one():
    head = ('<meta name="author" content="Coastal Gazette">'
            '<meta property="og:site_name" content="Coastal Gazette">')
    byline = "<p>Written By Coastal Gazette Sponsored</p>"
    assert fields(page(head, byline, headline="Harbour wall rebuilt"))["author"] == "Coastal Gazette"


@pytest.mark.parametrize("byline", [
    "<p>By Jane Doe June 3, 2025</p>",                     # a date's month after the name
    "<p>By Jane Doe Harbour walls are rebuilt every spring.</p>",  # the text's first word
    "<p>By Jane Doe Jane Doe is a reporter on the coast.</p>",     # the name twice
    "<p>By The Author · By Jane Doe · June 3, 2025</p>",   # a label with no name, then one
    "<p>Written by Jane Doe Dr. Jane Doe is a marine engineer.</p>",  # her bio's first words
])
def test_what_follows_the_names_of_a_byline_is_not_the_author(byline):
    assert fields(page(before_body=byline, headline="Harbour wall rebuilt"))["author"] == "Jane Doe"


@pytest.mark.parametrize("byline", [
    "<p>Jane Doe Senior Reporter · Updated on 3 Mar 2026</p>",  # the name, then a job title
    "<p>What will the harbour cost? Jane Doe Tech Writer Articles by Jane</p>",  # after the standfirst
    "<p>Jane Doe | Senior Writer | March 3, 2026</p>",
    "<p>Jane Doe Last Updated: March 3, 2026</p>",
    "<p>Mar 3, 2026 • Jane Doe in Harbours</p>",              # a date, then the name
    "<p>Where the boats wait.</p><p>Jane Doe Mar 3, 2026 • 4 min read</p>",  # a byline bar
])
def test_a_name_shown_without_a_label_beside_a_job_title_or_date_is_the_byline(byline):
    assert fields(page(before_body=byline, headline="Harbour wall rebuilt"))["author"] == "Jane Doe"


def test_a_link_to_an_authors_page_names_the_author_where_nothing_else_does():
    footer = '<p>More from <a href="/authors/jane-doe">Jane Doe</a> and <a href="/team/">Meet the Team</a></p>'
    assert fields(page(before_body=footer))["author"] == "Jane Doe"


@pytest.mark.parametrize("box", [
    '<aside><p>Written by<!-- --> <a href="/blog/jane">Jane Doe</a></p></aside>',
    '<div><h3>Written by Jane Doe</h3><p>Jane writes about harbours.</p></div>',
    '<div><h2>Article by</h2><div>Jane Doe</div></div>',
    '<div class="tags"><strong>Contributors:</strong> Jane Doe</div>',
])
def test_a_labelled_name_away_from_the_headline_names_the_author_where_nothing_else_does(box):
    html = page(headline="Harbour wall rebuilt").replace("<footer>", box + "<footer>")
    assert fields(html)["author"] == "Jane Doe"


def test_a_label_after_a_hostile_run_of_letters_is_read_in_good_time():
    """A page of 400,000 letters with no space, then a label alone and a name: the test of
    what stands before a label ("Photo by", "Edited by") read the whole run for each of its
    letters, ~25 minutes of CPU here (80,000 letters: a minute); it reads the run's end."""
    box = '<div><span>' + "a" * 400_000 + '</span><span>By</span><span>Jane Doe</span></div>'
    html = page(headline="Harbour wall rebuilt").replace("<footer>", box + "<footer>")
    assert fields(html)["author"] == "Jane Doe"


@pytest.mark.parametrize("where", ["meta", "json-ld"])
def test_a_hostile_declared_author_of_letters_alone_is_cut_in_good_time(where):
    """A declared author of 300,000 letters with no space: the test of a name's last word
    ending a sentence ("Doe.") cost such a word its length squared (30,000 letters: 13 s).
    Stored cut to its bound, as any long field."""
    run = "a" * 300_000
    head = (f'<meta name="author" content="{run}">' if where == "meta" else
            '<script type="application/ld+json">{"@type": "NewsArticle", "author": {"name": "'
            + run + '"}}</script>')
    author = fields(page(head, headline="Harbour wall rebuilt"))["author"]
    assert author.startswith("aaa") and len(author) <= 500


def test_a_hostile_author_of_opening_brackets_is_read_in_good_time():
    """trafilatura's nickname expression (an opening bracket, then lazily the nearest
    closing one) costs a declared author of 300,000 "(" its length squared: ~9 minutes of a
    worker (30,000: 5.5 s). newsmill cuts what it hands trafilatura
    (pipelines/trafilatura_bounds.py)."""
    run = "Jane Doe " + "(" * 300_000
    html = page(f'<meta name="author" content="{run}">', headline="Harbour wall rebuilt")
    assert fields(html)["title"] == "Harbour wall rebuilt"


def test_an_author_name_box_names_the_author_but_not_its_date_or_the_sites_name():
    head = '<meta property="og:site_name" content="Harbour Works">'
    box = ('<div class="post-header_author-text">March 3, 2026</div>'
           '<div class="post_author-name">Harbour Works</div>'
           '<div class="blog_author-text"><div>Jane Doe</div><p>Jane writes about harbours.</p></div>')
    html = page(head, headline="Harbour wall rebuilt").replace("<footer>", box + "<footer>")
    assert fields(html)["author"] == "Jane Doe"


def test_the_analytics_data_layer_names_the_author_where_nothing_else_does():
    script = ('<script>var dataLayer_content = {"pagePostType":"post",'
              '"pagePostAuthor":"Jane D\\u00f8e"};</script>')
    assert fields(page(script, headline="Harbour wall rebuilt"))["author"] == "Jane Døe"
    login = script.replace("Jane D\\u00f8e", "jdoe42")
    assert fields(page(login, headline="Harbour wall rebuilt"))["author"] is None


def test_a_name_shown_under_the_headline_wins_over_the_sites_name_declared_like_a_login():
    head = '<meta name="author" content="Harbour7">'
    byline = "<p>Jane Doe Mar 3, 2026 | 4 min read</p>"
    url = "https://www.harbour7.example/blog/harbour-wall-rebuilt"
    assert fields(page(head, byline, headline="Harbour wall rebuilt"), url)["author"] == "Jane Doe"


def test_names_in_the_comments_or_after_a_photo_credit_are_not_the_author():
    extra = ('<p>Photo by</p><p>Joe Lens</p>'
             '<div id="comments"><p>Written by</p><p>Some Reader</p>'
             '<div class="comment-author-name">Other Reader</div></div>')
    html = page(headline="Harbour wall rebuilt").replace("<footer>", extra + "<footer>")
    assert fields(html)["author"] is None


@pytest.mark.parametrize("url, author", [
    ("https://jane.example.dev/notes/harbour-wall", "Jane Doe"),  # named after her
    ("https://harbourworks.com/notes/harbour-wall", None),  # a company's site
])
def test_a_one_person_site_named_after_its_author_names_the_author_where_nothing_else_does(url, author):
    head = '<meta property="og:site_name" content="{}">'
    assert fields(page(head.format("Jane Doe")), url)["author"] == author
    head = '<title>Harbour wall rebuilt | Harbour Works</title>'
    assert fields(page(head), url)["author"] is None


def test_an_author_declared_as_an_organisation_other_than_the_publisher_is_the_author():
    head = ld(author={"@type": "Organization", "name": "Jane Doe"},
              publisher={"@type": "Organization", "name": "Harbour Works"})
    head += '<meta property="og:site_name" content="Harbour Works">'
    assert fields(page(head))["author"] == "Jane Doe"
    head = ld(author={"@type": "Organization", "name": "Harbour Works"},
              publisher={"@type": "Organization", "name": "Harbour Works"})
    assert fields(page(head))["author"] is None


@pytest.mark.parametrize("declared, author", [
    ("Jane Doe, Trial Attorney, Example LLP", "Jane Doe"),            # a job title
    ("Jane Doe , Privacy and Digital Security", "Jane Doe"),          # a beat
    ("Jane Doe, Ann Roe, Extension horticulture educators", "Jane Doe, Ann Roe"),
    ("Jane Doe, South Carolina Garden-based Learning Network", "Jane Doe"),  # an organisation
    ("Jane Doe, MS, RDN", "Jane Doe, MS, RDN"),                       # credentials stay
    ("Jane Doe, Dietitian", "Jane Doe, Dietitian"),                   # a single word stays
    ("Jane Doe, John A. Roe and Mary Major", "Jane Doe, John A. Roe and Mary Major"),
    ("Jane Doe, Ann Page", "Jane Doe, Ann Page"),                     # a surname, no job
])
def test_a_job_title_or_beat_after_a_comma_is_not_another_author(declared, author):
    assert fields(page(f'<meta name="author" content="{declared}">'))["author"] == author


def test_a_byline_under_the_headline_naming_another_person_wins_over_the_declared_author():
    head = '<meta name="author" content="Ann Editor">'
    byline = "<p>March 3, 2026 By: Jane Doe Share</p>"
    assert fields(page(head, byline, headline="Harbour wall rebuilt"))["author"] == "Jane Doe"
    byline = "<p>By Ann Editor and Jane Doe · March 3, 2026</p>"  # more people: declared stands
    head = '<meta name="author" content="Ann Editor, Jane Doe">'
    assert fields(page(head, byline, headline="Harbour wall rebuilt"))["author"] == "Ann Editor, Jane Doe"
    head = '<meta name="author" content="Ann Editor">'
    byline = "<p>By Jane Doe, MS, RDN, LD All of us have heard nutrition advice.</p>"
    assert fields(page(head, byline, headline="Harbour wall rebuilt"))["author"] == "Jane Doe"
    for byline in ("<p>Medically reviewed by Joe Doctor · March 3, 2026</p>",  # a reviewer
                   "<p>By Dr Ann · March 3, 2026</p>",                         # a piece of her name
                   "<p>Written by Harbour Works JUMP TO: Costs</p>"):          # a menu after it
        assert fields(page(head, byline, headline="Harbour wall rebuilt"))["author"] == "Ann Editor"


def test_co_authors_shown_after_the_declared_author_are_authors_too():
    head = '<meta name="author" content="Marna van der Merwe">'
    byline = ("<p>Written by Dr Marna van der Merwe , Dr Dieter Roe , Erik van Vulpen "
              "Reviewed by Joe Checker</p>")
    assert fields(page(head, byline, headline="Harbour wall rebuilt"))["author"] \
        == "Dr Marna van der Merwe, Dr Dieter Roe, Erik van Vulpen"
    head = '<meta name="author" content="Jane Doe">'
    byline = "<p>Curated for you. Jane Doe , Ann Roe & John Major Nov 25th, 2025</p>"
    assert fields(page(head, byline, headline="Harbour wall rebuilt"))["author"] \
        == "Jane Doe, Ann Roe & John Major"
    # a desk or the site's own name after the comma is no co-author
    head += '<meta property="og:site_name" content="Harbour Farmer">'
    for byline in ("<p>Jane Doe, Global Desk · Nov 25th, 2025</p>",
                   "<p>Jane Doe, Harbour Farmer · Nov 25th, 2025</p>",
                   "<p>Jane Doe and Ann · Nov 25th, 2025</p>"):  # one word: not a name
        assert fields(page(head, byline, headline="Harbour wall rebuilt"))["author"] == "Jane Doe"


def test_several_names_then_a_date_under_the_headline_are_the_authors():
    byline = "<p>Jane Doe, Ann C. Roe, John Major 24 Apr 2000 • 3 min read</p>"
    assert fields(page(before_body=byline, headline="Harbour wall rebuilt"))["author"] \
        == "Jane Doe, Ann C. Roe, John Major"


def test_a_one_word_byline_cut_at_a_small_word_is_completed_by_the_byline_markup():
    byline = ('<p>December 7, 2020 By <a rel="author" href="/a/">Ask the Doctors</a> '
              '3 min read</p>')
    assert fields(page(before_body=byline, headline="Harbour wall rebuilt"))["author"] \
        == "Ask the Doctors"


def test_a_job_title_in_pieces_after_the_name_is_not_another_author():
    head = '<meta name="author" content="Jane Doe; Head; Community Development">'
    assert fields(page(head))["author"] == "Jane Doe"


def test_a_one_person_site_marking_up_its_author_keeps_the_author():
    head = '<meta property="og:site_name" content="Kiersten Doe">'
    html = page(head, headline="Harbour wall rebuilt").replace("</article>", (
        '<footer><div class="entry-category-meta">Posted By: <a href="/author/kd/" rel="author">'
        '<span class="entry-author-name">Kiersten</span></a></div></footer></article>'))
    assert fields(html, "https://www.kierstendoe.example/bread-recipe/")["author"] == "Kiersten"


def test_an_authors_bio_names_the_author_where_nothing_else_does():
    bio = ('<div class="bio"><h3>Jane Doe</h3><p>Jane Doe is a freelance travel writer '
           'who lives by the harbour.</p></div>')
    html = page(headline="Harbour wall rebuilt").replace("<footer>", bio + "<footer>")
    assert fields(html)["author"] == "Jane Doe"
    # over the site's name declared as the author, too
    head = '<meta name="author" content="Harbour Works">'
    url = "https://www.harbourworks.example/blog/harbour-wall-rebuilt"
    html = page(head, headline="Harbour wall rebuilt").replace("<footer>", bio + "<footer>")
    assert fields(html, url)["author"] == "Jane Doe"
    # a business described, or a name never shown alone, is not a bio
    for box in ('<h3>Quay Movers</h3><p>Quay Movers is a licensed moving company in the port.</p>',
                '<p>Jane Doe is a freelance travel writer who lives by the harbour.</p>'):
        html = page(headline="Harbour wall rebuilt").replace("<footer>", box + "<footer>")
        assert fields(html)["author"] is None


@pytest.mark.parametrize("byline", [
    "<p>2025-12-17 · Jane Doe</p><p>The harbour board met on Tuesday.</p>",
    "<p>The wall is being rebuilt. Jane Doe</p><p>23.07.2025 · 6 min read</p>",
])
def test_a_name_beside_a_numeric_date_under_the_headline_is_the_author(byline):
    assert fields(page(before_body=byline, headline="Harbour wall rebuilt"))["author"] == "Jane Doe"


def test_a_place_beside_a_numeric_date_mid_sentence_is_not_the_author():
    byline = "<p>The board met in Harbour Town 23.07.2025 and agreed.</p>"
    assert fields(page(before_body=byline, headline="Harbour wall rebuilt"))["author"] is None


def test_a_long_byline_gives_way_to_the_marked_up_name_just_after_it():
    byline = ('<p>By <a href="/c/">Wedding Checklists</a> <a href="/c2/">Just Engaged</a> '
              '<a rel="author" href="/a/jane/">Jane Doe</a> Planning your wedding can be stressful.</p>')
    assert fields(page(before_body=byline, headline="Harbour wall rebuilt"))["author"] == "Jane Doe"


def test_a_first_name_alone_in_the_byline_bar_wins_over_the_sites_name_declared():
    head = '<meta name="author" content="Harbour Works Team">'
    byline = "<p>Stefan March 5, 2026 9 min read</p>"
    url = "https://www.harbourworks.example/blog/harbour-wall-rebuilt"
    assert fields(page(head, byline, headline="Harbour wall rebuilt"), url)["author"] == "Stefan"


@pytest.mark.parametrize("url, author", [
    ("https://cassidoo.example/post/harbour-wall", "Cassidy Doe"),  # her first name's start
    ("https://cassandra.example/post/harbour-wall", None),          # four letters only
])
def test_a_site_named_after_its_authors_nickname_names_the_author(url, author):
    html = page(headline="Harbour wall rebuilt").replace("About us", "&copy; 2025 Cassidy Doe.")
    assert fields(html, url)["author"] == author


def test_a_date_then_a_name_above_the_headline_is_the_author_not_a_captions_painter():
    html = page(headline="Harbour wall rebuilt").replace(
        "<h1>", "<p>Dec 17, 2025</p><p>Jane K. Doe</p><h1>").replace(
        "</h1>", "</h1><figure><figcaption>The old harbour, August 12, 1898, by Theobald "
                 "Painter.</figcaption></figure>")
    assert fields(html)["author"] == "Jane K. Doe"


def test_one_word_found_by_the_byline_search_does_not_replace_a_two_word_name():
    head = '<meta name="author" content="Sir Harbour">'
    html = page(head, headline="Harbour wall rebuilt").replace(
        "<footer>", '<div class="author">Fullysecret</div><footer>')
    url = "https://sirharbour.example/2025/06/20/harbour-wall-rebuilt/"
    assert fields(html, url)["author"] == "Sir Harbour"


def test_a_credits_list_declared_as_the_author_is_no_author():
    head = '<meta name="author" content="content: Harbour Works, design: Ann Roe, code: Joe Bloggs">'
    assert fields(page(head, headline="Harbour wall rebuilt"))["author"] is None
    html = page(head, headline="Harbour wall rebuilt").replace(
        "<footer>", '<div class="author">Jane Doe; Senior Director; Content</div><footer>')
    assert fields(html)["author"] == "Jane Doe"


def test_authors_listed_after_a_label_away_from_the_headline_are_all_the_authors():
    box = ('<div><h6>Author(s)</h6><ul><li><a href="/l/?a=1">Jane A. Doe</a></li>'
           '<li><a href="/l/?a=2">Ann C. Roe</a></li></ul></div>')
    html = page(headline="Harbour wall rebuilt").replace("<footer>", box + "<footer>")
    assert fields(html)["author"] == "Jane A. Doe, Ann C. Roe"
    box = '<div><h6>Written by</h6><p>Jane A. Doe</p><p>Ann C. Roe</p></div>'  # not a list
    html = page(headline="Harbour wall rebuilt").replace("<footer>", box + "<footer>")
    assert fields(html)["author"] == "Jane A. Doe"



def test_a_class_name_read_as_a_byline_is_no_author():
    html = page(headline="Harbour wall rebuilt").replace(
        "<footer>", '<div class="author">Wp-Block-Co-Authors-Plus-Coauthors Is-Layout-Flow</div>'
                    "<footer>")
    assert fields(html)["author"] is None


# --- published day -----------------------------------------------------------------

def test_a_date_without_time_is_stored_as_the_day():
    head = '<meta property="article:published_time" content="2026-11-02">'
    assert fields(page(head))["published"] == "2026-11-02"


def test_the_urls_day_wins_over_a_utc_time_on_the_next_day():
    head = '<meta property="article:published_time" content="2025-12-19T02:41:41+00:00">'
    url = "https://news.example.org/2025/12/18/harbour-wall-rebuilt/"
    assert fields(page(head), url)["published"] == "2025-12-18"


def test_a_declared_time_is_kept_whole_when_its_day_is_the_one_shown():
    head = '<meta property="article:published_time" content="2026-03-03T08:15:00+01:00">'
    dateline = "<p>By Jane Doe · March 3, 2026</p>"
    assert fields(page(head, dateline, headline="Harbour wall rebuilt"))["published"] \
        == "2026-03-03T08:15:00+01:00"


def test_the_day_shown_under_the_headline_wins_over_a_templates_date():
    head = '<meta property="article:published_time" content="2019-01-01T00:00:00+00:00">'
    dateline = "<p>By Jane Doe · Published March 3, 2026</p>"
    assert fields(page(head, dateline, headline="Harbour wall rebuilt"))["published"] == "2026-03-03"


def test_an_updated_day_shown_does_not_replace_the_declared_one():
    head = '<meta property="article:published_time" content="2024-05-10T09:00:00+00:00">'
    dateline = "<p>By Jane Doe · Last updated March 3, 2026</p>"
    assert fields(page(head, dateline, headline="Harbour wall rebuilt"))["published"] \
        == "2024-05-10T09:00:00+00:00"


def test_a_declared_day_shown_above_the_headline_stands_against_another_day_below_it():
    head = '<meta property="article:published_time" content="2025-01-16T09:00:00+00:00">'
    html = page(head, "<p>Written by Jane Doe. Last reviewed July 15, 2025.</p>",
                headline="Harbour wall rebuilt")
    html = html.replace("<article>", "<article><p>Harbours · January 16, 2025 · 11 min read</p>")
    assert fields(html)["published"] == "2025-01-16T09:00:00+00:00"


def test_an_update_shown_unlabelled_gives_way_to_the_publication_the_markup_marks():
    head = ('<meta property="article:published_time" content="2026-01-10T09:00:00+00:00">'
            '<meta property="article:modified_time" content="2026-02-20T09:00:00+00:00">')
    shown = '<p><time datetime="2026-02-20">February 20, 2026</time></p>'
    marked = '<p><time class="entry-date published" datetime="2026-01-10T09:00:00+00:00"></time></p>'
    html = page(head, before_body=shown, headline="Harbour wall rebuilt")
    assert fields(html)["published"] == "2026-02-20"  # no markup: the day shown
    html = page(head, before_body=shown + marked, headline="Harbour wall rebuilt")
    assert fields(html)["published"] == "2026-01-10T09:00:00+00:00"


def test_a_day_shown_before_a_declared_utc_time_that_no_time_zone_explains_wins():
    head = '<meta property="article:published_time" content="2025-12-19T22:02:58+00:00">'
    dateline = "<p>Dec 18, 2025 · 6 min read</p>"
    assert fields(page(head, dateline, headline="Harbour wall rebuilt"))["published"] == "2025-12-18"
    head = '<meta property="article:published_time" content="2025-12-19T02:41:00+00:00">'
    assert fields(page(head, dateline, headline="Harbour wall rebuilt"))["published"] \
        == "2025-12-19T02:41:00+00:00"  # the 18th west of UTC: the declared time stands


def test_a_month_name_in_the_urls_date_is_read():
    dateline = "<p>03/10/2023</p>"  # 10 March month-first: the URL says 3 October
    url = "https://news.example.org/blog/2023/october/03/harbour-wall-rebuilt/"
    assert fields(page(before_body=dateline, headline="Harbour wall rebuilt"), url)["published"] \
        == "2023-10-03"


def test_the_publication_the_body_marks_wins_where_one_day_is_declared_published_and_modified():
    head = ('<meta property="article:published_time" content="2025-11-29T12:28:31-05:00">'
            '<meta property="article:modified_time" content="2025-11-29T12:28:31-05:00">')
    marked = 'Published <time pubdate datetime="2025-08-13">August 13, 2025</time>'
    html = page(head, headline="Harbour wall rebuilt").replace("<footer>", f"<p>{marked}</p><footer>")
    assert fields(html)["published"] == "2025-08-13"
    head = head.replace("modified_time\" content=\"2025-11-29", "modified_time\" content=\"2025-11-30")
    html = page(head, headline="Harbour wall rebuilt").replace("<footer>", f"<p>{marked}</p><footer>")
    assert fields(html)["published"] == "2025-11-29T12:28:31-05:00"  # modified apart: declared


def test_a_page_saying_when_it_was_originally_published_names_its_day_where_none_is_declared():
    dateline = "<p>September 30, 2022</p>"
    note = "<p>This article was originally published on 26 Sep 2019 at 4:12pm but has been updated.</p>"
    html = page(before_body=dateline, headline="Harbour wall rebuilt").replace("<footer>", note + "<footer>")
    assert fields(html)["published"] == "2019-09-26"
    head = '<meta property="article:published_time" content="2022-09-30T09:00:00+00:00">'
    html = page(head, dateline, headline="Harbour wall rebuilt").replace("<footer>", note + "<footer>")
    assert fields(html)["published"] == "2022-09-30T09:00:00+00:00"  # declared: not searched


def test_a_published_then_updated_pair_away_from_the_headline_names_the_publication():
    head = '<meta property="article:modified_time" content="2025-12-07T13:33:15+00:00">'
    pair = '<p class="date">December 3, 2025. <i>Updated: December 7, 2025</i></p>'
    html = page(head, headline="Harbour wall rebuilt").replace("<footer>", pair + "<footer>")
    assert fields(html)["published"] == "2025-12-03"
    # an update label after a day that is no earlier one: not a pair, nothing taken from it
    pair = '<p>December 9, 2025. <i>Updated: December 7, 2025</i></p>'
    html = page(head, headline="Harbour wall rebuilt").replace("<footer>", pair + "<footer>")
    assert fields(html)["published"] != "2025-12-09"


@pytest.mark.timeout(60)
def test_many_update_labels_in_one_huge_block_are_read_in_good_time():
    """60,000 "updated" spans in one block: each label's block is read only up to its bound
    (reading the whole block for each label: 60,000 x 480 KB, many minutes)."""
    block = "<div>" + "<span>updated</span> " * 60_000 + "</div>"
    html = page(headline="Harbour wall rebuilt").replace("<footer>", block + "<footer>")
    assert fields(html)["title"] == "Harbour wall rebuilt"


def test_a_shown_time_whose_datetime_names_another_day_is_read_by_its_datetime():
    shown = '<p><time datetime="2024-12-20">August 28, 2024</time></p>'
    assert fields(page(before_body=shown, headline="Harbour wall rebuilt"))["published"] \
        == "2024-12-20"
    # a day apart is a time zone's: the text stands
    shown = '<p><time datetime="2024-08-29T02:00:00Z">August 28, 2024</time></p>'
    assert fields(page(before_body=shown, headline="Harbour wall rebuilt"))["published"] \
        == "2024-08-28"


def test_a_day_a_sentence_runs_into_under_the_headline_is_no_dateline():
    head = '<meta property="article:published_time" content="2025-01-17T13:39:16-05:00">'
    prose = "<p>The end of the tax season for most Americans is April 15, 2025. File early.</p>"
    assert fields(page(head, prose, headline="Harbour wall rebuilt"))["published"] \
        == "2025-01-17T13:39:16-05:00"
    dateline = "<p>By Jane Doe · April 15, 2025</p>"  # a dateline: it still wins
    assert fields(page(head, dateline, headline="Harbour wall rebuilt"))["published"] \
        == "2025-04-15"


@pytest.mark.parametrize(("lang", "shown", "day"), [
    ("en-GB", "03/11/2026", "2026-11-03"),   # day-first outside US English
    ("en-US", "03/11/2026", "2026-03-11"),   # month-first in US English
    ("en-US", "18/11/2026", "2026-11-18"),   # a first number above 12 is a day anywhere
    ("de", "18.11.2026", "2026-11-18"),      # dotted dates are day-first
    ("fr", "3 novembre 2026", "2026-11-03"),
])
def test_a_shown_all_number_date_is_read_the_way_the_pages_language_writes_it(lang, shown, day):
    dateline = f"<p>Published {shown}</p>"
    assert fields(page(before_body=dateline, headline="Harbour wall rebuilt", lang=lang))["published"] == day


# --- a crawl -----------------------------------------------------------------------

def test_a_crawled_page_stores_the_headline_author_and_day_a_reader_sees(site, newsmill):
    head = ('<meta property="og:title" content="Harbour wall rebuilt | The Coastal Gazette">'
            '<meta property="og:site_name" content="The Coastal Gazette">'
            '<meta name="author" content="https://social.example/coastalgazette">'
            '<meta property="article:published_time" content="2026-03-04T01:30:00+00:00">')
    byline = '<p class="byline">By Jane Doe · March 3, 2026</p>'
    url = site.add("/2026/03/03/harbour-wall-rebuilt",
                   page(head, byline, headline="Harbour wall rebuilt"))

    result = newsmill.crawl(url)

    assert result.returncode == 0, newsmill.explain(result)
    row = newsmill.rows("select title, author, published from articles")[0]
    assert row == {"title": "Harbour wall rebuilt", "author": "Jane Doe", "published": "2026-03-03"}


# --- the corpora -------------------------------------------------------------------

@pytest.fixture(scope="module")
def accuracy():
    if not (SHARED_CORPORA / "web-content" / "html").is_dir():
        why = f"needs the shared corpora at {SHARED_CORPORA} (web-content and article-extraction)"
        if os.environ.get("NEWSMILL_REQUIRE_CORPUS") == "1":
            pytest.fail(why + ", and NEWSMILL_REQUIRE_CORPUS=1", pytrace=False)
        pytest.skip(why)
    return measure(SHARED_CORPORA)


# What newsmill reached when these rules were written (benchmarks/README.md, "Fields"),
# less four or five pages: a change that loses more fails here. "author (person)" leaves
# out the pages whose truth is the site's or publisher's own name. NO_DAY: the pages whose
# truth has no day, on which none is stored (0.440 when a copyright year's 1 January went,
# seventeenth session; 0.022 before, trafilatura's figure).
HELD = {"title": 0.896, "author": 0.898, "published": 0.894, "author (person)": 0.915, NO_DAY: 0.40}
# The issue's targets (#28): the author's is reached (0.906, sixteenth session) and held;
# the others not yet: benchmarks/README.md, "Fields", says what stands in the way. Strict:
# the day one is reached, its test fails until its xfail goes.
TARGETS = {"title": 0.95, "author": 0.90, "published": 0.95}
NOT_REACHED = pytest.mark.xfail(strict=True, reason="issue 28's field target is not reached yet")


@pytest.mark.slow
@pytest.mark.corpus
@pytest.mark.timeout(1800)  # the first one measures both corpora: ~4 minutes, more when shared
@pytest.mark.parametrize("field", sorted(HELD))
def test_web_content_articles_fields_hold_their_accuracy_and_beat_trafilatura(accuracy, field):
    row = accuracy["web-content"][field]
    ours, theirs = row["newsmill"] / row["pages"], row["trafilatura"] / row["pages"]
    assert ours >= HELD[field], (field, ours, theirs)
    assert ours > theirs, (field, ours, theirs)


@pytest.mark.slow
@pytest.mark.corpus
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("field", [pytest.param("title", marks=NOT_REACHED), "author",
                                   pytest.param("published", marks=NOT_REACHED)])
def test_web_content_articles_fields_reach_the_issues_targets(accuracy, field):
    row = accuracy["web-content"][field]
    assert row["newsmill"] / row["pages"] >= TARGETS[field], (field, row)


@pytest.mark.slow
@pytest.mark.corpus
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("field", ["title", "author", "published"])
def test_news_corpus_fields_are_filled_as_often_as_trafilaturas(accuracy, field):
    row = accuracy["news"][field]
    assert row["newsmill"] >= row["trafilatura"], (field, row)


def test_trafilaturas_reading_that_lost_words_of_the_declared_author_does_not_replace_it():
    # A department declared as the author (JSON-LD, Dublin Core): trafilatura reads
    # "Center; Research" from the creator tag (it splits at "for" and "and").
    head = (ld(author={"@type": "Organization", "name": "Center for Harbour Safety and Research"},
               publisher={"@type": "Organization", "name": "HWA"})
            + '<meta name="dcterms.creator" content="Center for Harbour Safety and Research">')
    assert fields(page(head, headline="Harbour wall rebuilt"))["author"] \
        == "Center for Harbour Safety and Research"


def test_a_letter_after_a_byline_label_is_no_author():
    byline = "<p>Jun 2 Written By I dove into the harbour's history in 2015 and never looked back.</p>"
    assert fields(page(before_body=byline, headline="Harbour wall rebuilt"))["author"] is None


@pytest.mark.parametrize("byline, author", [
    # the job title in the name's own text: the byline as the page writes it
    ('<div class="author">Jane Doe, Shipping Expert</div><div>•</div><time>May 2, 2025</time>',
     "Jane Doe, Shipping Expert"),
    ("<p><time>03/01/2017</time> by Jane Doe, Representative to the Harbour Committee</p>",
     "Jane Doe, Representative to the Harbour Committee"),
    ("<p><strong>By Jane Doe, CEO of Harbourworks</strong> Updated: May 2, 2025</p>",
     "Jane Doe, CEO of Harbourworks"),
    # the job title in an element of its own, or in a sentence after the byline
    ('<p>By <a href="/author/jane-doe/">Jane Doe, </a><span>Senior Analyst</span></p>', "Jane Doe"),
    ("<p>Jane Doe 12 March 2025</p><p><a>Jane Doe, CEO of Harbourworks</a> delves into it.</p>",
     "Jane Doe"),
])
def test_a_job_title_written_in_the_names_own_text_stays_with_it(byline, author):
    assert fields(page(before_body=byline, headline="Harbour wall rebuilt"))["author"] == author


@pytest.mark.parametrize("tag, names, author", [
    ("citation_authors", ["Jane Doe", "Ann Roe", "Joe Bloggs"], "Jane Doe, Ann Roe, Joe Bloggs"),
    ("citation_author", ["Doe, Jane", "Roe, Ann"], "Jane Doe, Ann Roe"),  # turned round
])
def test_a_papers_authors_are_all_its_citation_tags_name(tag, names, author):
    head = "".join(f'<meta name="{tag}" content="{n}">' for n in names)
    head += '<meta name="dc.creator" content="Jane Doe">'
    assert fields(page(head, headline="Harbour wall rebuilt"))["author"] == author


def test_a_name_then_its_role_between_brackets_under_the_headline_is_the_author():
    byline = "<p>Jane Doe (Content Manager) Ann Roe (Editor-in-Chief) Joe Bloggs (Data Analyst)</p>"
    assert fields(page(before_body=byline, headline="Harbour wall rebuilt"))["author"] \
        == "Jane Doe (Content Manager)"
    byline = "<p>Harbour Works (Southampton) rebuilt the wall in May.</p>"  # no job's word
    assert fields(page(before_body=byline, headline="Harbour wall rebuilt"))["author"] is None


@pytest.mark.parametrize("run", ["A" * 100_000, "Ab " * 33_000 + "(", "Jane Doe, " + "Ab " * 33_000])
def test_a_hostile_run_under_the_headline_is_read_for_a_role_or_job_title_in_good_time(run):
    # No timing: a backtracking expression would not finish at all on these runs.
    for byline in (f"<p>{run}</p>", f"<p>{run} (Content Manager)</p>", f"<p>By {run}</p>"):
        fields(page(before_body=byline, headline="Harbour wall rebuilt"))


def test_co_authors_linked_in_the_same_byline_box_are_all_the_authors():
    box = ('<div class="byline"><strong>Written by</strong><br>'
           '<strong><a href="/authors/jane-doe">Jane Doe</a></strong>, 4+ years covering harbours<br>'
           '<strong><a href="/authors/ann-roe">Ann Roe</a></strong>, senior editor.</div>')
    html = page(headline="Harbour wall rebuilt").replace("<footer>", box + "<footer>")
    assert fields(html)["author"] == "Jane Doe, Ann Roe"
    thanks = ('<p>Thanks to <a href="/authors/jane-doe">Jane Doe</a>, <a href="/staff/ann-roe">'
              'Ann Roe</a> and others.</p>')  # links in running text: the first only
    html = page(headline="Harbour wall rebuilt").replace("<footer>", thanks + "<footer>")
    assert fields(html)["author"] == "Jane Doe"


def test_co_authors_in_items_of_one_list_under_the_headline_are_two_names():
    # The list's commas are the style sheet's: its text has none ("Jane Doe Ann Roe").
    meta = ('<div class="meta"><span>Written by: <ul class="comma-separated-list">'
            '<li>\n <a href="/authors/jane-doe/">Jane Doe</a>\n</li>'
            '<li><a href="/authors/ann-roe/">Ann Roe</a></li></ul></span>'
            '<ul class="dates"><li>Published</li><li>March 3, 2025</li><li>4 min read</li></ul>'
            '<ul class="share"><li><a href="/share"><svg></svg></a></li><li></li></ul></div>')
    got = fields(page(headline="Harbour wall rebuilt", before_body=meta))
    assert got["author"] == "Jane Doe, Ann Roe"
    assert got["published"].startswith("2025-03-03")


def test_a_list_of_twenty_thousand_items_around_the_headline_is_read_in_good_time():
    items = "<ul>" + "<li>\n<a>Jane Doe</a>\n<i></i>\n</li>" * 20_000 + "</ul>"
    assert fields(page(headline="Harbour wall rebuilt", before_body=items))["title"] \
        == "Harbour wall rebuilt"


@pytest.mark.parametrize("url, author", [
    ("https://www.harbourne.dev/articles/harbour-wall", "Jane Harbourne"),  # her surname
    ("https://janeblog.dev/articles/harbour-wall", None),  # the host is not her surname
])
def test_the_headers_link_home_names_the_author_of_a_site_named_after_her_surname(url, author):
    html = page(headline="Harbour wall rebuilt").replace(
        '<nav><a href="/">Home</a>', '<nav><a href="/">Jane Harbourne</a>')
    assert fields(html, url)["author"] == author


FIRST_PERSON = ("<p>I rebuilt my harbour wall myself: I say so because I think my readers "
                "should know what I did, what I paid and what I would change. I learnt a lot, "
                "my friends helped me, and I would do it again; my next post says how.</p>")


@pytest.mark.parametrize("voice, signed, author", [
    (FIRST_PERSON, "<footer>© 2025 Jane Doe. All rights reserved.</footer>", "Jane Doe"),
    (FIRST_PERSON, '<nav><a href="/about/">About Jane Doe</a></nav>', "Jane Doe"),
    # a company's voice, or only the site's declared name: the host's name is a business's
    (FIRST_PERSON.replace("I ", "we ").replace("my ", "our "),
     "<footer>© 2025 Jane Doe. All rights reserved.</footer>", None),
    (FIRST_PERSON, '<meta property="og:site_name" content="Jane Doe">', None),
])
def test_a_site_whose_host_is_its_owners_name_whole_names_her_where_she_signs_it(voice, signed, author):
    html = page(headline="Harbour wall rebuilt").replace("</article>", voice + "</article>")
    html = html.replace("<footer>About us</footer>", signed) if "<meta" not in signed \
        else html.replace("</head>", signed + "</head>")
    assert fields(html, "https://janedoe.example/notes/harbour-wall")["author"] == author


@pytest.mark.parametrize("run", ["a" * 100_000, "Ab. " * 25_000, "I my " * 20_000])
def test_a_hostile_footer_is_read_for_the_sites_owner_in_good_time(run):
    # No timing: a backtracking expression would not finish at all on these runs.
    html = page(headline="Harbour wall rebuilt").replace(
        "<footer>About us</footer>", f"<footer>© 2025 Jane Doe{run}</footer><footer>© {run}</footer>")
    fields(html, "https://janedoe.example/notes/harbour-wall")


def test_names_each_with_credentials_under_the_headline_are_the_authors_as_written():
    byline = ("<p>Jane Doe, VMD, DACVB; Ann Roe, BA, LVT, VTS (Behavior); Joe Bloggs, DVM, DACVB "
              "&amp; Max Mustermann, DVM Print Article</p>")
    assert fields(page(before_body=byline, headline="Harbour wall rebuilt"))["author"] \
        == "Jane Doe, VMD, DACVB; Ann Roe, BA, LVT, VTS (Behavior); Joe Bloggs, DVM, DACVB & Max Mustermann, DVM"


@pytest.mark.parametrize("run", ["Jane Doe" + ", DVM" * 25_000, "Jane Doe, DVM; " * 7_000 + "x",
                                 "A" * 100_000 + ", DVM; Ann Roe, BA"])
def test_hostile_credentials_under_the_headline_are_read_in_good_time(run):
    # No timing: a backtracking expression would not finish at all on these runs.
    fields(page(before_body=f"<p>{run}</p>", headline="Harbour wall rebuilt"))


def test_the_writer_signing_the_articles_end_replaces_a_desk_in_the_byline():
    # A team signs the byline box under the headline; the article's end names its writer.
    byline = '<p class="byline">By Team Harbour Gazette · March 3, 2026</p>'
    signed = '<p>Written by <a href="/people/jane-doe">Jane Doe</a></p>'
    html = page(headline="Harbour wall rebuilt", before_body=byline)
    assert fields(html)["author"] == "Team Harbour Gazette"  # no writer named: the desk
    assert fields(html.replace("</article>", signed + "</article>"))["author"] == "Jane Doe"
    person = html.replace("Team Harbour Gazette", "Ann Roe")  # a person's byline stays
    assert fields(person.replace("</article>", signed + "</article>"))["author"] == "Ann Roe"


@pytest.mark.parametrize("run", ["written by " * 10_000, "Written by" + " " * 100_000 + ":",
                                 "Written by " + "Jane " * 20_000])
def test_a_hostile_run_after_a_desks_byline_is_read_for_its_writer_in_good_time(run):
    # No timing: a backtracking expression would not finish at all on these runs.
    byline = '<p class="byline">By Team Harbour Gazette · March 3, 2026</p>'
    html = page(headline="Harbour wall rebuilt", before_body=byline)
    got = fields(html.replace("</article>", f"<p>{run}</p><p>{run}</p></article>"))
    assert got["author"] == "Team Harbour Gazette"


def test_an_article_written_by_heading_at_the_foot_names_the_author_with_credentials():
    box = ('<section><h2>Article written by: </h2><div><img src="/j.webp" alt="Headshot">'
           '<h3>\n Jane Doe, MD, FOMA\n</h3></div></section>')
    html = page(headline="Harbour wall rebuilt").replace("<footer>", box + "<footer>")
    assert fields(html)["author"] == "Jane Doe, MD, FOMA"
    quoted = html.replace("Article written by: ", "The report was written by the council")
    assert fields(quoted)["author"] is None  # a sentence, not the box's heading


@pytest.mark.parametrize("run", ["written by " * 10_000, "Article written by" + " " * 100_000])
def test_a_hostile_written_by_heading_is_read_in_good_time(run):
    # No timing: a backtracking expression would not finish at all on these runs.
    html = page(headline="Harbour wall rebuilt").replace(
        "<footer>", f"<h2>{run}</h2><h3>{run}</h3><footer>")
    fields(html)


def test_two_hundred_thousand_written_by_headings_are_read_in_good_time():
    """Each "Written by:" heading looks for the text after it through the rest of the page
    (libxml2 gathers the whole following axis): on every one of 200,000 that cost the page's
    length squared (16,000: 3 s; 200,000: ~8 minutes). Only the first few are read."""
    import lxml.html

    from pipelines.article_fields import written_by_heading

    tree = lxml.html.fromstring("<html><body><article><h1>Harbour wall rebuilt</h1>"
                                + "<p>Written by:</p><p>the 3 boats</p>" * 200_000
                                + "</article></body></html>")
    assert written_by_heading(tree, {"organisations": [], "site_name": None}) is None
