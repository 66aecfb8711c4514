"""The newsmill extraction engine (EXTRACT_ENGINE=newsmill, the default) stores the article
without what a site puts around it; EXTRACT_ENGINE=trafilatura stores plain trafilatura's
text, as newsmill did before."""

from __future__ import annotations

import pytest

from benchmarks.article_site import load_corpus
from pipelines.article_text import clean_text
from pipelines.extract_worker import extract_article
from tests.sites import distinct_words, rss_feed

TITLE = "Harbour ferry returns after engine repairs"


def paragraph(n: int) -> str:
    return (f"The ferry that crosses the harbour carried passengers again on day {n}, "
            f"{distinct_words(f'ferry/{n}', 14)}, after repairs to its engine took longer "
            f"than the operator had said.")


PARAGRAPHS = [paragraph(n) for n in range(6)]
COMMENT = "I took this ferry every morning for years and the new engine is far too loud indeed."


def templated_page(body: str) -> str:
    """An article page as news templates make them: headline, related links, newsletter
    call, credits and readers' comments around the body."""
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{TITLE} | The Example Gazette</title>
<meta property="og:title" content="{TITLE}"><meta property="og:type" content="article">
</head><body>
<nav><a href="/">Home</a> <a href="/news/">News</a></nav>
<article><div class="article-body">
<h1>{TITLE}</h1>
{body}
<p>Related: <a href="/news/bridge.html">Bridge closed for a week of works on its deck</a></p>
<ul><li><a href="/news/a.html">Council approves the new harbour wall budget</a></li>
<li><a href="/news/b.html">Fishing fleet waits for the storm to pass</a></li></ul>
<p>Sign up for our newsletter to get the day's top headlines delivered to your inbox.</p>
<p>(Reporting by Ann Writer; Editing by Bob Editor)</p>
</div></article>
<section id="comments" class="comments"><h2>3 comments</h2>
<ol class="commentlist"><li class="comment"><p>{COMMENT}</p></li></ol></section>
<footer><p>Copyright The Example Gazette</p></footer>
</body></html>"""


def test_newsmill_engine_stores_the_article_without_headline_links_calls_credits_comments(
        site, newsmill):
    body = "\n".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    site.add("/news/ferry.html", templated_page(body))
    feed = site.add("/rss.xml", rss_feed(site, [(TITLE, "/news/ferry.html")]), "application/rss+xml")

    result = newsmill.crawl(feed)

    assert result.returncode == 0, newsmill.explain(result)
    [row] = newsmill.rows("select title, text from articles")
    assert row["title"] == TITLE
    assert row["text"] == "\n".join(PARAGRAPHS)


def test_trafilatura_engine_stores_plain_trafilaturas_text_with_comments(site, newsmill):
    import trafilatura

    body = "\n".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    page = templated_page(body)
    url = site.add("/news/ferry.html", page)
    feed = site.add("/rss.xml", rss_feed(site, [(TITLE, "/news/ferry.html")]), "application/rss+xml")

    result = newsmill.crawl(feed, "-s", "EXTRACT_ENGINE=trafilatura")

    assert result.returncode == 0, newsmill.explain(result)
    [row] = newsmill.rows("select text from articles")
    assert row["text"] == trafilatura.extract(page, url=url)
    assert COMMENT in row["text"] and "Sign up for our newsletter" in row["text"]


def test_newsmill_engine_keeps_readers_comments_when_asked(site, newsmill):
    body = "\n".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    site.add("/news/ferry.html", templated_page(body))
    feed = site.add("/rss.xml", rss_feed(site, [(TITLE, "/news/ferry.html")]), "application/rss+xml")

    result = newsmill.crawl(feed, "-s", "EXTRACT_INCLUDE_COMMENTS=True")

    assert result.returncode == 0, newsmill.explain(result)
    [row] = newsmill.rows("select text from articles")
    assert row["text"].startswith(PARAGRAPHS[0]) and row["text"].endswith(COMMENT)


def test_an_unknown_engine_fails_the_crawl_with_its_name(site, newsmill):
    url = site.add("/news/ferry.html", templated_page("".join(f"<p>{p}</p>" for p in PARAGRAPHS)))

    result = newsmill.crawl(url, "-s", "EXTRACT_ENGINE=newsmil")

    assert result.returncode == 2, newsmill.explain(result)
    assert "EXTRACT_ENGINE must be one of newsmill, trafilatura, not 'newsmil'" in result.stderr


def test_a_body_split_into_chunks_around_advertisements_is_stored_whole():
    chunks = "\n".join(
        f'<div class="ad-rail"><div class="advert">Advertisement</div></div>'
        f'<div class="grid"><div class="article-body chunk">{"".join(f"<p>{p}</p>" for p in pair)}'
        f'</div></div>' for pair in (PARAGRAPHS[:2], PARAGRAPHS[2:4], PARAGRAPHS[4:]))
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{TITLE}</title></head><body><article><h1>{TITLE}</h1>
<div class="chunks">{chunks}</div></article>
<aside><div class="teasers"><div class="article-body teaser"><p>{distinct_words("teaser", 40)}</p>
</div></div></aside></body></html>"""

    found = extract_article(page.encode(), "https://example.org/news/ferry.html", {}, {}, "utf-8")
    plain = extract_article(page.encode(), "https://example.org/news/ferry.html", {},
                            {"engine": "trafilatura"}, "utf-8")

    assert found["text"] == "\n".join(PARAGRAPHS)
    assert PARAGRAPHS[4] not in plain["text"]  # trafilatura alone keeps the first chunk


def test_a_page_whose_lines_all_look_like_boilerplate_keeps_trafilaturas_text():
    lines = [f"Follow us on Twitter for the news of day {n} and more." for n in range(4)]
    assert clean_text("\n".join(lines), []) == "\n".join(lines)


def test_a_call_to_subscribe_is_boilerplate_a_mention_or_a_long_paragraph_is_not():
    mention = "Small investors welcomed the deal, subscribing for so many shares they were cut back."
    long_paragraph = ("The harbour office opened on Monday. Sign up forms for the season pass are "
                      "there, " + distinct_words("long", 40) + ".")
    text = "\n".join([mention, "Subscribe to our newsletter.", long_paragraph,
                      "Get the latest headlines delivered to your inbox.", PARAGRAPHS[0]])
    assert clean_text(text, []) == "\n".join([mention, long_paragraph, PARAGRAPHS[0]])


def test_a_call_is_boilerplate_up_to_forty_words_counted_between_punctuation():
    # 14 words: "day-to-day" is three, "Zürich's" two, "__init__" one.
    call = "Subscribe to our day-to-day letter from Zürich's __init__ desk, 2024 edition:"
    at_limit = f"{call} {distinct_words('limit', 26)}."
    past_limit = f"{call} {distinct_words('limit', 27)}."
    text = "\n".join([PARAGRAPHS[0], at_limit, past_limit])
    assert clean_text(text, []) == "\n".join([PARAGRAPHS[0], past_limit])


def test_clean_text_drops_the_headline_only_at_the_top_of_the_text():
    # (The template's rules drop it anywhere: test_the_headline_printed_again_inside...)
    text = "\n".join([TITLE, PARAGRAPHS[0], TITLE, PARAGRAPHS[1]])
    assert clean_text(text, [TITLE]) == "\n".join([PARAGRAPHS[0], TITLE, PARAGRAPHS[1]])


@pytest.mark.corpus
def test_body_containers_are_what_trafilaturas_body_expression_finds_on_every_corpus_page():
    from trafilatura.utils import load_html
    from trafilatura.xpaths import BODY_XPATH

    from pipelines.article_text import _body_containers

    for n, page in enumerate(load_corpus()):
        tree = load_html(page)
        theirs, ours = BODY_XPATH[0](tree), _body_containers(tree)
        # The same first container, and every one it finds (ours adds same-kind siblings).
        assert ours[:1] == theirs[:1] and set(theirs) <= set(ours), f"corpus page {n}"


def test_the_headline_its_feed_gives_is_not_kept_at_the_top_of_the_text(site, newsmill):
    # The page's own title tags do not carry the headline; the feed's item does.
    body = "\n".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>The Example Gazette</title></head><body>
<article><div class="article-body"><p class="headline"><b>{TITLE}</b></p>
{body}</div></article></body></html>"""
    site.add("/news/ferry.html", page)
    feed = site.add("/rss.xml", rss_feed(site, [(TITLE, "/news/ferry.html")]), "application/rss+xml")

    result = newsmill.crawl(feed)

    assert result.returncode == 0, newsmill.explain(result)
    [row] = newsmill.rows("select text from articles")
    assert row["text"] == "\n".join(PARAGRAPHS)


def test_a_mistyped_engine_stops_the_daemon_before_it_starts(site, newsmill):
    sources = newsmill.tmp / "sources.toml"
    sources.write_text(f'[[sources]]\nname = "s"\nurls = ["{site.url("/a.html")}"]\n')
    result = newsmill.run("daemon", "--sources", str(sources), "--db", str(newsmill.db_path),
                          "-s", "EXTRACT_ENGINE=trafilaturo", timeout=60)
    assert result.returncode == 2
    assert "EXTRACT_ENGINE must be one of newsmill, trafilatura, not 'trafilaturo'" in result.stderr


def guide_page() -> tuple[str, list[str]]:
    """A guide as blogs and company sites write them: an intro, a list of steps, a table,
    then headed sections whose text sits in <div>s, not paragraphs. Returns the page and
    the sections' lines."""
    intro = "".join(f"<p>{distinct_words(f'intro/{n}', 35)}.</p>" for n in range(2))
    steps = "".join(f"<li><strong>Step {n}.</strong> {distinct_words(f'step/{n}', 30)}.</li>"
                    for n in range(6))
    table = "<table><tr><th>Plant</th><th>Use</th></tr>" + "".join(
        f"<tr><td>{distinct_words(f'plant/{n}', 3)}</td><td>{distinct_words(f'use/{n}', 12)}</td></tr>"
        for n in range(5)) + "</table>"
    headings = [distinct_words(f"heading/{n}", 4).capitalize() for n in range(4)]
    texts = [f"{distinct_words(f'section/{n}', 40)}." for n in range(4)]
    sections = "".join(f'<div class="section"><h2>{h}</h2><div class="text">{t}</div></div>'
                       for h, t in zip(headings, texts))
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>How to plant a hedge</title></head><body><nav><a href="/">Home</a></nav>
<div class="post-content"><h1>How to plant a hedge</h1>{intro}<ul>{steps}</ul>{table}{sections}</div>
<footer><p>Copyright The Example Garden</p></footer></body></html>"""
    return page, [line for pair in zip(headings, texts) for line in pair]


def test_a_guide_whose_sections_are_headed_divs_is_stored_whole():
    import trafilatura

    page, sections = guide_page()
    url = "https://example.org/guides/hedge.html"

    found = extract_article(page.encode(), url, {}, {}, "utf-8")

    lines = found["text"].split("\n")
    assert all(line in lines for line in sections), found["text"]
    # trafilatura's precision mode, the engine's first choice before, loses them.
    precise = trafilatura.extract(page, url=url, include_comments=False, favor_precision=True)
    assert not any(line in precise.split("\n") for line in sections)


def test_a_paragraph_printed_twice_is_stored_once_a_short_line_may_repeat():
    quote = "The ferry is the only way across for the people who live on the island, and always was."
    body = "\n".join([f"<p>{PARAGRAPHS[0]}</p>", f"<p>{quote}</p>", f"<p>{PARAGRAPHS[1]}</p>",
                      "<p>Timetable</p>", f"<p>{PARAGRAPHS[2]}</p>", f"<blockquote><p>{quote}</p></blockquote>",
                      f"<p>{PARAGRAPHS[3]}</p>", "<p>Timetable</p>", f"<p>{PARAGRAPHS[4]}</p>"])
    found = extract_article(templated_page(body).encode(), "https://example.org/news/ferry.html",
                            {}, {}, "utf-8")
    lines = found["text"].split("\n")
    assert lines.count(quote) == 1 and lines.count("Timetable") == 2, found["text"]
    assert lines[:2] == [PARAGRAPHS[0], quote]


def teaser_page() -> tuple[str, list[str]]:
    """A news page whose template the recall mode keeps in part: a date line above the
    body, a teaser set in capitals between its paragraphs, other stories' headlines below
    it (whole links, and linked headlines with an unlinked summary). Between two paragraphs,
    the article's own list of sources, as links. Returns the page and the article's lines."""
    sources = [f"{distinct_words(f'source/{n}', 6).capitalize()} report" for n in range(3)]
    teasers = [distinct_words(f"teaser/{n}", 8).capitalize() for n in range(4)]
    summaries = [distinct_words(f"summary/{n}", 9) for n in range(3)]
    caps = distinct_words("caps", 7).upper()
    body = (f"<p>{PARAGRAPHS[0]}</p><p>{PARAGRAPHS[1]}</p>"
            f'<p><a href="/news/other.html">{caps}</a></p>'
            f"<p>{PARAGRAPHS[2]}</p><p>The operator's reports:</p><ul>"
            + "".join(f'<li><a href="/docs/{n}.pdf">{s}</a></li>' for n, s in enumerate(sources))
            + f"</ul><p>{PARAGRAPHS[3]}</p><p>{PARAGRAPHS[4]}</p>")
    more = ("<div class='more'><h3>More stories</h3>"
            + "".join(f'<p><a href="/news/t{n}.html">{t}</a></p>' for n, t in enumerate(teasers))
            + "<ul>" + "".join(f'<li><a href="/news/s{n}.html">{teasers[n]} again</a> {s}</li>'
                               for n, s in enumerate(summaries)) + "</ul></div>")
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{TITLE} | The Example Gazette</title><meta property="og:type" content="article">
</head><body><nav><a href="/">Home</a></nav>
<div class="story"><h1>{TITLE}</h1><p class="date">Updated: Tue., Nov. 19, 2019 08:38 AM</p>
{body}{more}</div>
<footer><p>Copyright The Example Gazette</p></footer></body></html>"""
    return page, [PARAGRAPHS[0], PARAGRAPHS[1], PARAGRAPHS[2], "The operator's reports:",
                  *(f"- {s}" for s in sources), PARAGRAPHS[3], PARAGRAPHS[4]]


def crawled_and_recall_text(site, newsmill, page: str) -> tuple[str, str]:
    """The text a crawl of the page (through a feed) stores, and trafilatura's recall mode's
    text of the same page (the engine's first run)."""
    import trafilatura

    url = site.add("/news/ferry.html", page)
    feed = site.add("/rss.xml", rss_feed(site, [(TITLE, "/news/ferry.html")]), "application/rss+xml")
    result = newsmill.crawl(feed)
    assert result.returncode == 0, newsmill.explain(result)
    [row] = newsmill.rows("select text from articles")
    return row["text"], trafilatura.extract(page, url=url, include_comments=False,
                                            favor_recall=True)


def test_teasers_date_lines_and_a_teaser_in_capitals_are_dropped_a_list_of_sources_is_not(
        site, newsmill):
    page, article = teaser_page()
    stored, recall = crawled_and_recall_text(site, newsmill, page)
    assert stored == "\n".join(article)
    # trafilatura's recall mode, the engine's first run, keeps the template's lines.
    assert "Updated: Tue., Nov. 19, 2019" in recall and distinct_words("caps", 7).upper() in recall


def test_the_headline_printed_again_inside_the_text_is_dropped():
    from pipelines.template_lines import drop_template_lines

    text = "\n".join([PARAGRAPHS[0], TITLE, PARAGRAPHS[1]])
    assert drop_template_lines(text, frozenset(), [TITLE]) == "\n".join(PARAGRAPHS[:2])
    assert drop_template_lines(TITLE, frozenset(), [TITLE]) == TITLE  # nothing else: kept


def closing_list_page() -> tuple[str, list[str]]:
    """A news page whose article ends with its own short list (names linked), followed
    by the template's list of other stories: headlines linked with more words after them
    ("; plus, check out ..."), the last item the site's call, unlinked. Returns the page
    and the article's lines."""
    names = [distinct_words(f"team/{n}", 1).capitalize() for n in range(3)]
    stories = [distinct_words(f"story/{n}", 7).capitalize() for n in range(4)]
    own = "".join(f'<li><a href="/teams/{n}.html">{name}</a> (Group A): third appearance</li>'
                  for n, name in enumerate(names))
    others = "".join(f'<li><a href="/news/s{n}.html">{story}</a>; plus, check out the latest '
                     f'{distinct_words(f"more/{n}", 2)}</li>' for n, story in enumerate(stories))
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{TITLE} | The Example Gazette</title><meta property="og:type" content="article">
</head><body><nav><a href="/">Home</a></nav>
<div class="story"><h1>{TITLE}</h1>
{"".join(f"<p>{p}</p>" for p in PARAGRAPHS[:5])}<p>Teams that qualified:</p><ul>{own}</ul>
<ul class="more">{others}<li>Want the best gear? Check out our team's picks for the season</li></ul>
</div><footer><p>Copyright The Example Gazette</p></footer></body></html>"""
    return page, [*PARAGRAPHS[:5], "Teams that qualified:",
                  *(f"- {name} (Group A): third appearance" for name in names)]


def test_a_closing_list_of_partly_linked_headlines_is_dropped_the_articles_own_list_is_not(
        site, newsmill):
    page, article = closing_list_page()
    stored, recall = crawled_and_recall_text(site, newsmill, page)
    assert stored == "\n".join(article)
    # trafilatura's recall mode, the engine's first run, keeps the other stories.
    assert "plus, check out the latest" in recall and "Want the best gear?" in recall


def test_metadata_lines_with_a_date_and_dates_in_other_languages_are_dropped_at_the_edges():
    from pipelines.template_lines import drop_template_lines

    lines = ["Lisboa, Redação | Atualizado: 22 de janeiro de 2018 às 0:13",
             "05/10/2018 - Posted by: Ann Writer - Category: Health - Tags: ferry harbour",
             *PARAGRAPHS[:4], "segunda-feira, 22 de janeiro de 2018 às 0:13"]
    assert drop_template_lines("\n".join(lines), frozenset(), [TITLE]) == "\n".join(PARAGRAPHS[:4])
    # A line with a year and one number is not a date ("Recap 2025 - what changed"),
    # nor is a sentence full of numbers.
    kept = ["Recap 2025 - what changed", *PARAGRAPHS[:2], "In 2019 it ran 12 of 14 days."]
    assert drop_template_lines("\n".join(kept), frozenset(), [TITLE]) == "\n".join(kept)


def test_a_cookie_notice_below_the_article_is_dropped_an_article_about_cookies_is_not():
    from pipelines.template_lines import drop_template_lines

    notice = ["We use cookies on our website to give you the most relevant experience by "
              "remembering your preferences and repeat visits, as the law asks us to say.",
              "Manage consent",
              "Necessary cookies are absolutely essential for the website to function properly "
              "and are stored in your browser without any further consent from you."]
    text = "\n".join([*PARAGRAPHS[:4], *notice])
    assert drop_template_lines(text, frozenset(), [TITLE]) == "\n".join(PARAGRAPHS[:4])
    # Followed by more of the article: a paragraph that says what the site does is kept.
    text = "\n".join([*PARAGRAPHS[:4], *notice, PARAGRAPHS[4]])
    assert drop_template_lines(text, frozenset(), [TITLE]) == text


def test_a_table_cell_holding_the_page_loses_the_headline_and_dateline_it_opens_with():
    from pipelines.template_lines import drop_template_lines

    cell = f"| {TITLE} November 20, 2019 - 11:28 AMT {PARAGRAPHS[0]}"
    text = "\n".join([cell, PARAGRAPHS[1]])
    assert drop_template_lines(text, frozenset(), [TITLE]) == "\n".join(PARAGRAPHS[:2])
    # A paragraph that opens with the headline's words, not in a table cell, is kept.
    text = "\n".join([f"{TITLE} was the news of the week, {PARAGRAPHS[0]}", PARAGRAPHS[1]])
    assert drop_template_lines(text, frozenset(), [TITLE]) == text


def test_identifier_runs_a_footers_contact_line_and_a_line_of_tags_are_dropped():
    from pipelines.template_lines import drop_template_lines

    tags = [distinct_words(f"tag/{n}", 2) for n in range(5)]
    breakpoints = ["- narrow-browser-and-phone", "- landscape-tablet", "- wide-browser-and-larger"]
    contact = ("Harbourtown - HT - Reg: 83.102.459/0001-23 - Quay Road, 1111 - 89259-565 - "
               "Box 421 - Phone: (047) 2106-800")
    text = "\n".join([*PARAGRAPHS[:4], "Tags", ", ".join(tags), *breakpoints, contact])
    assert drop_template_lines(text, frozenset(tags), [TITLE]) == "\n".join(PARAGRAPHS[:4])
    # Two identifiers, a product's line of facts, a title's series of links: kept.
    kept = [*PARAGRAPHS[:3], ", ".join(tags[:4]) + ", and " + tags[4], PARAGRAPHS[3],
            "- well-known", "- state-of-the-art", "1-2 Players • Ages 14+ • 60-120 minutes • $59"]
    assert drop_template_lines("\n".join(kept), frozenset(tags), [TITLE]) == "\n".join(kept)


@pytest.mark.timeout(120)  # before the bound on link matches, hours: its length cubed
def test_a_paragraph_of_thousands_of_words_between_commas_is_extracted_in_good_time():
    """A hostile (or merely long) page: one line of 6,000 words between commas, no full
    stop, beside the site's links. Each of its words was matched against every run of
    words after it; now no further than the longest link's words."""
    words = distinct_words("comma-line", 6000).split()
    line = ", ".join(" ".join(words[n:n + 3]) for n in range(0, len(words), 3))
    menu = "".join(f'<li><a href="/s/{n}">{distinct_words(f"menu/{n}", 3)}</a></li>'
                   for n in range(40))
    html = (f"<html><head><title>{TITLE}</title></head><body><nav><ul>{menu}</ul></nav>"
            f"<article><h1>{TITLE}</h1><p>{line}</p>"
            + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</article></body></html>")
    article = extract_article(html.encode(), "https://news.example.org/2024/05/long-line", {}, {})
    assert words[2999] in article["text"] and PARAGRAPHS[-1] in article["text"], article


def discarded_body_page() -> tuple[str, list[str]]:
    """A guide whose reviews sit in a container named as a template's part ("page-footer",
    a word trafilatura discards), below a short lead, with readers' comments under it.
    Returns the page and the article's lines."""
    lead = [f"{distinct_words(f'lead/{n}', 30)}." for n in range(2)]
    venues = [(distinct_words(f"venue/{n}", 3).title(), f"{distinct_words(f'review/{n}', 45)}.")
              for n in range(5)]
    reviews = "".join(f'<div class="venue"><h2>{name}</h2><p>{text}</p></div>' for name, text in venues)
    comments = "".join(f'<li class="comment"><p>{distinct_words(f"comment/{n}", 60)}.</p></li>'
                       for n in range(4))
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{TITLE}</title><meta property="og:type" content="article"></head><body>
<nav><a href="/">Home</a></nav>
<article class="post"><div class="page-lead"><h1>{TITLE}</h1>{"".join(f"<p>{p}</p>" for p in lead)}</div>
<div class="page-footer">{reviews}</div></article>
<section id="comments" class="comments"><ol class="commentlist">{comments}</ol></section>
<footer class="site-footer"><p>Copyright The Example Gazette</p></footer></body></html>"""
    return page, [*lead, *(line for venue in venues for line in venue)]


def test_a_body_in_a_container_trafilatura_discards_as_a_footer_is_stored_without_comments():
    import trafilatura

    page, article = discarded_body_page()
    url = "https://example.org/guides/where-to-eat.html"

    found = extract_article(page.encode(), url, {}, {}, "utf-8")

    assert found["text"] == "\n".join(article)
    # trafilatura's recall and balanced modes, the engine's first two runs, keep the lead alone.
    for mode in ({"favor_recall": True}, {}):
        plain = trafilatura.extract(page, url=url, include_comments=False, **mode)
        assert article[0] in plain and article[-1] not in plain, (mode, plain)
