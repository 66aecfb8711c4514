"""Every URL of an article in one normal form (pipelines.urls.clean_url)."""

import pytest

from pipelines.urls import clean_url, scheme_and_www_variants

CANONICAL = "https://news.example.com/2026/11/story.html"


@pytest.mark.parametrize("variant", [
    "HTTPS://News.Example.COM/2026/11/story.html",
    "https://news.example.com:443/2026/11/story.html",
    "https://news.example.com/2026/11/story.html#comments",
    "https://news.example.com/2026/11/story.html?utm_source=rss&utm_medium=feed&utm_whatever=x",
    "https://news.example.com/2026/11/story.html?fbclid=IwAR0&gclid=abc&mc_cid=1&mc_eid=2",
    "https://news.example.com/2026/11/story.html?PHPSESSID=123&jsessionid=456",
    "https://news.example.com/2026/11/story.html;jsessionid=ABC123",
    "https://news.example.com/2026/11/story.html?amp=1",
    "https://news.example.com/2026/11/story.html?outputType=amp",
    "https://news.example.com/2026/11/story.html?print=1",
])
def test_url_variants_of_an_article_have_one_normal_form(variant):
    assert clean_url(variant) == CANONICAL


def test_query_parameters_that_choose_content_are_kept_in_sorted_order():
    assert clean_url("http://example.com/article?lang=en&id=42&utm_campaign=x") == \
        "http://example.com/article?id=42&lang=en"


def test_a_query_parameter_named_like_a_layout_flag_but_meaning_more_is_kept():
    assert clean_url("http://example.com/search?print=magazine") == \
        "http://example.com/search?print=magazine"


def test_scheme_and_www_twins_are_the_lookups_for_one_article():
    assert set(scheme_and_www_variants("https://www.example.com/a")) == {
        "https://www.example.com/a", "https://example.com/a",
        "http://www.example.com/a", "http://example.com/a"}
