"""Pages that do not say they are articles, reached from a section page: the article is
kept; a product page, a forum thread and a documentation page are not, and each is counted
in its run's not_articles. On the shared web-content corpus, the thresholds of issue 28."""

import gzip
import os
import re
from collections import Counter

import pytest

from tests.sites import unaccounted_pages

# The corpus fixture extracts every page (minutes): the module's tests share one xdist
# worker, so that it runs once, not once on each worker a test lands on.
pytestmark = pytest.mark.xdist_group("corpus-recognition")

PROSE = [
    "The harbour authority said on Tuesday that the old ferry terminal will close for "
    "eighteen months while engineers replace the pilings that have held it up since 1962.",
    "Commuters who cross the bay each morning will be moved to a temporary pier at the north "
    "end of the promenade, where a shuttle bus will take them to the railway station.",
    "The council's transport committee approved the plan last month after a survey found that "
    "a third of the timber beneath the terminal had rotted, and that the rest would not last "
    "another winter of storms.",
    "Local businesses near the terminal said they feared the closure would cost them customers. "
    "The owner of a cafe beside the ticket office said she had already lost a quarter of her "
    "trade since the works were first announced.",
    "Engineers expect the new pilings, made of steel rather than timber, to last at least a "
    "century. The work is to be paid for by a grant from the regional government and a loan "
    "that the authority will repay from ticket sales.",
    "The authority's chief executive said the closure was regrettable but unavoidable, and "
    "promised that the new terminal would have a waiting room, a cafe and level boarding for "
    "passengers in wheelchairs.",
]

ARTICLE = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Ferry terminal to close for repairs | Bay Gazette</title>
<meta property="og:type" content="website"><meta name="author" content="Ann Writer"></head><body>
<nav><a href="/">Home</a> <a href="/local/">Local</a> <a href="/business/">Business</a></nav>
<main><h1>Ferry terminal to close for eighteen months</h1>
<p class="byline">By <a href="/authors/ann-writer/">Ann Writer</a> ·
<time datetime="2026-11-03T09:00:00+00:00">3 November 2026</time></p>
{"".join(f"<p>{p}</p>" for p in PROSE)}
</main><footer><a href="/about/">About us</a> <a href="/contact/">Contact</a></footer></body></html>"""

PRODUCT = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Trailhead 40 Backpack - Outdoor Supply</title><meta property="og:type" content="product">
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Product",
"name": "Trailhead 40 Backpack", "sku": "TH40-GRN", "brand": {"@type": "Brand", "name": "Trailhead"},
"offers": {"@type": "Offer", "price": "129.00", "priceCurrency": "USD",
"availability": "https://schema.org/InStock"},
"aggregateRating": {"@type": "AggregateRating", "ratingValue": "4.6", "reviewCount": "212"}}</script>
</head><body>
<nav class="breadcrumb"><a href="/">Home</a> / <a href="/packs/">Packs</a> / <a href="/packs/hiking/">Hiking</a></nav>
<div class="product-detail"><h1 class="product-title">Trailhead 40 Backpack</h1>
<div class="product-price"><span class="price">$129.00</span> <span class="price-was">$159.00</span></div>
<form class="add-to-cart" action="/cart/add" method="post">
<label for="color">Color</label><select id="color" name="color"><option>Green</option><option>Grey</option></select>
<label for="size">Size</label><select id="size" name="size"><option>S/M</option><option>L/XL</option></select>
<input type="number" name="quantity" value="1" class="qty">
<button type="submit" class="btn add-to-cart-button">Add to cart</button></form>
<div class="product-description"><h2>Details</h2>
<p>A 40 litre pack for long day hikes and light overnight trips, with a ventilated back panel,
a hydration sleeve and a rain cover that tucks into the lid pocket when the weather is fine.</p>
<ul><li>Volume: 40 litres</li><li>Weight: 1.2 kg</li><li>Material: recycled nylon</li>
<li>Hip belt pockets: 2</li><li>Warranty: lifetime</li></ul>
<h2>Shipping and returns</h2><p>Free shipping on orders over $50. Returns accepted within 60 days.</p>
</div></div>
<div class="related-products"><h2>You may also like</h2>
<div class="product-card"><a href="/packs/th30/">Trailhead 30 Backpack</a> <span class="price">$109.00</span></div>
<div class="product-card"><a href="/packs/th55/">Trailhead 55 Backpack</a> <span class="price">$179.00</span></div>
<div class="product-card"><a href="/packs/summit/">Summit Day Pack</a> <span class="price">$89.00</span></div>
</div><footer><a href="/help/">Help</a> <a href="/stores/">Stores</a></footer></body></html>"""

FORUM = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Boiler pressure keeps dropping overnight - Home Repair Forum</title></head><body>
<nav><a href="/">Forums</a> &gt; <a href="/forums/heating/">Heating and plumbing</a></nav>
<h1 class="thread-title">Boiler pressure keeps dropping overnight</h1>
""" + "".join(f"""<div class="post message" id="post-{n}">
<div class="post-author"><a class="username" href="/members/{user}/">{user}</a>
<span class="user-title">Member</span></div>
<div class="post-date"><time datetime="2026-10-{10 + n}T20:1{n}:00Z">Oct {10 + n}, 2026</time></div>
<div class="post-body message-content">{text}</div>
<div class="post-actions"><a class="reply" href="/reply?post={n}">Reply</a>
<a class="quote" href="/quote?post={n}">Quote</a> <span class="likes">{n} likes</span></div></div>
""" for n, (user, text) in enumerate([
    ("drainpipe", "My combi boiler drops from 1.5 bar to about 0.5 every night. I topped it up "
                  "twice this week. No visible leaks anywhere. Any ideas what I should check first?"),
    ("heatingguy", "Check the pressure relief valve pipe outside. If it drips, the valve is letting by."),
    ("drainpipe", "Thanks! There is a small damp patch under the pipe, I'll have a look tomorrow."),
    ("oldhand", "Could also be the expansion vessel. Has it ever been recharged? Mine did exactly this."),
    ("heatingguy", "Yes, a flat expansion vessel makes the relief valve open when the water heats up."),
    ("drainpipe", "Update: the vessel was flat. Pumped it to 1 bar and the pressure held all night."),
])) + """<form class="quick-reply" action="/reply" method="post"><textarea name="message"></textarea>
<button type="submit">Post reply</button></form>
<footer><a href="/help/">Help</a> <a href="/rules/">Forum rules</a></footer></body></html>"""

DOCS = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Configuration reference — quickqueue 2.4 documentation</title>
<meta name="generator" content="Sphinx 8.1"></head><body>
<div class="sidebar"><div class="toc"><ul>
<li class="toctree-l1"><a href="../install.html">Installation</a></li>
<li class="toctree-l1"><a href="../tutorial.html">Tutorial</a></li>
<li class="toctree-l1 current"><a href="#">Configuration reference</a></li>
<li class="toctree-l1"><a href="../api.html">API reference</a></li>
<li class="toctree-l1"><a href="../changes.html">Changelog</a></li></ul></div></div>
<div class="document"><div class="body" role="main"><h1>Configuration reference</h1>
<p>quickqueue reads its settings from <code>quickqueue.toml</code> in the working directory.</p>
<h2>broker_url</h2><p>The address of the message broker. Default: <code>redis://localhost:6379/0</code>.</p>
<div class="highlight"><pre><span class="n">broker_url</span> = <span class="s">"redis://queue.internal:6379/2"</span></pre></div>
<h2>concurrency</h2><p>How many tasks a worker runs at once. Default: the number of CPU cores.</p>
<div class="highlight"><pre><span class="n">concurrency</span> = <span class="m">8</span></pre></div>
<h2>retry_delay</h2><p>Seconds to wait before a failed task is retried. Default: <code>30</code>.</p>
<div class="admonition note"><p class="admonition-title">Note</p><p>Set it to <code>0</code> to retry at once.</p></div>
<h2>result_ttl</h2><p>How long results are kept, in seconds. Default: <code>86400</code>.</p>
<div class="highlight"><pre><span class="n">result_ttl</span> = <span class="m">3600</span></pre></div>
</div></div><footer>© Copyright 2026, the quickqueue developers. Built with Sphinx.</footer></body></html>"""

PAGES = {
    "/local/2026/11/ferry-terminal-to-close-for-repairs.html": ARTICLE,
    "/packs/hiking/trailhead-40-backpack-green": PRODUCT,
    "/forums/heating/boiler-pressure-keeps-dropping-overnight.12345/": FORUM,
    "/docs/2.4/configuration-reference.html": DOCS,
}


def test_only_the_article_of_a_section_page_is_stored_and_the_others_counted(site, newsmill):
    for path, html in PAGES.items():
        site.add(path, html)
    section = site.add("/local/", "<!DOCTYPE html><html><head><title>Local</title></head><body><ul>"
                       + "".join(f'<li><a href="{p}">Read {p}</a></li>' for p in PAGES)
                       + "</ul></body></html>")

    result = newsmill.crawl("--log-level", "DEBUG", sources=f'[[sources]]\nname = "bay"\nurls = ["{section}"]\n')

    assert result.returncode == 0, newsmill.explain(result)
    assert [r["title"] for r in newsmill.rows("select title from articles")] == \
        ["Ferry terminal to close for eighteen months"]
    run = newsmill.rows("select * from runs")[0]
    assert (run["articles_new"], run["not_articles"]) == (1, 3)
    assert unaccounted_pages([run]) == []
    # Each refusal says why, at DEBUG.
    for path in list(PAGES)[1:]:
        assert re.search(rf"not an article: {re.escape(site.url(path))}: not declared an article",
                         result.stderr), path


@pytest.fixture(scope="module")
def web_content():
    """The shared web-content corpus's pages as the judgement reads them (minutes: every
    page extracted once); skipped without the corpus unless NEWSMILL_REQUIRE_CORPUS=1."""
    from benchmarks.recognition import CORPUS, page_records

    if not (CORPUS / "html").is_dir():
        why = f"needs the shared web-content corpus at {CORPUS}"
        if os.environ.get("NEWSMILL_REQUIRE_CORPUS") == "1":
            pytest.fail(why + ", and NEWSMILL_REQUIRE_CORPUS=1", pytrace=False)
        pytest.skip(why)
    return CORPUS, page_records(CORPUS)


@pytest.mark.slow
@pytest.mark.corpus
@pytest.mark.timeout(3600)  # the module's fixture extracts every page of the corpus first
def test_web_content_corpus_articles_kept_and_other_pages_refused(web_content):
    """Judged as undeclared pages reached from a section page: >= 98 % of the 793 articles
    kept, by the shipped model and cross-validated by site (its threshold chosen on the
    training folds only). Of the 704 other pages, the issue asks <= 10 % kept: the model
    keeps ~28 % cross-validated, against the old rule's 77 % and the logistic model's 47 %
    before it: held here at what it reaches, so that a regression fails (the target: the
    strict xfail below; benchmarks/README.md, "Recognition")."""
    from benchmarks.recognition import cross_validated, curve, kept_by

    _, records = web_content
    total = Counter(r["type"] for r in records.values())
    shipped = Counter(r["type"] for r in records.values() if kept_by(r))
    cv = cross_validated(records)
    others = total.total() - total["article"]
    assert total["article"] == 793 and others == 704
    for kept in (shipped, cv):
        assert kept["article"] >= 0.98 * total["article"], kept
    assert shipped.total() - shipped["article"] <= 0.25 * others, shipped
    assert cv.total() - cv["article"] <= 0.31 * others, cv
    # Where one threshold keeps 95 % of the articles, out of fold: ~11 % of the others.
    assert curve(records, (0.95,))[0.95] <= 0.13 * others


@pytest.mark.slow
@pytest.mark.corpus
@pytest.mark.timeout(3600)
@pytest.mark.xfail(strict=True, reason="issue 28's recognition target, not reached (~28 % of other pages kept)")
def test_web_content_corpus_other_pages_kept_at_most_a_tenth(web_content):
    """Issue 28's target: <= 10 % of the other pages kept, cross-validated by site, with
    >= 98 % of the articles."""
    from benchmarks.recognition import cross_validated

    _, records = web_content
    cv = cross_validated(records)
    assert cv["article"] >= 0.98 * 793 and cv.total() - cv["article"] <= 0.10 * 704, cv


def test_the_model_is_applied_without_a_learning_library():
    """A worker judges a page with the shipped model's JSON alone: no scikit-learn (or
    numpy) imported, and the probability is the mean of the two parts'."""
    import subprocess
    import sys

    code = ("import sys, lxml.html\n"
            "from pipelines import recognition\n"
            f"tree = lxml.html.fromstring({PRODUCT!r})\n"
            "signals = recognition.read_signals(tree, 'https://shop.example/packs/trailhead-40')\n"
            "print(recognition.verdict(signals, 'A pack. Add to cart. $129.00', None, "
            "'https://shop.example/packs/trailhead-40', None, False))\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'numpy', 'scipy')))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    reason, imported = result.stdout.splitlines()
    assert reason.startswith("not declared an article, and not like one"), reason
    assert imported == "[]"


def test_exported_trees_and_weights_give_scikit_learns_probabilities():
    """benchmarks/recognition.py exports the fitted models to plain lists; walked by
    pipelines/recognition.py they give the probabilities scikit-learn gives."""
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    from benchmarks.recognition import TREES, C, _fitted
    from pipelines.recognition import article_probability

    rng = np.random.default_rng(28)
    x = rng.normal(size=(400, 6))
    x[:, 5] = rng.integers(0, 3, size=400)  # a count: many equal values, thresholds between them
    y = x[:, 0] + 0.5 * x[:, 1] * x[:, 5] - np.abs(x[:, 2]) + rng.normal(scale=0.5, size=400) > 0
    names = [f"f{i}" for i in range(6)]
    model = _fitted(x, y, names)

    mean, scale = x.mean(axis=0), x.std(axis=0)
    logistic = LogisticRegression(C=C, max_iter=3000).fit((x - mean) / scale, y)
    trees = HistGradientBoostingClassifier(**TREES).fit(x, y)
    expected = (logistic.predict_proba((x - mean) / scale)[:, 1] + trees.predict_proba(x)[:, 1]) / 2
    found = [article_probability(dict(zip(names, row)), model) for row in x]
    assert np.allclose(found, expected, atol=1e-5)


@pytest.mark.slow
@pytest.mark.corpus
@pytest.mark.timeout(3600)
def test_the_benchmark_judges_as_extraction_does(web_content):
    """benchmarks/recognition.py's verdicts are those of extract_article on undeclared pages."""
    from benchmarks.recognition import kept_by
    from pipelines.extract_worker import extract_article

    corpus, records = web_content
    for key in sorted(records)[::40]:
        record = records[key]
        if record["listing"]:
            continue
        body = gzip.decompress((corpus / "html" / f"{key}.html.gz").read_bytes())
        found = extract_article(body, record["url"], {}, {"min_words": 10}, declared=False,
                                mostly_links=record["mostly_links"])
        assert ("not_article" not in found) == kept_by(record), (key, record["url"], found.get("not_article"))



@pytest.mark.parametrize("given, expected", [(None, "1"), ("2", "2")])
def test_the_benchmark_trains_on_one_thread_unless_told(given, expected):
    """Run as a script, benchmarks/recognition.py sets OMP_NUM_THREADS=1 (the machine's
    cores are shared) unless its caller chose a number."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "recognition.py"
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if given:
        env["OMP_NUM_THREADS"] = given
    # The script run as users run it, with --help (argparse exits before any corpus is read).
    code = ("import os, runpy, sys\n"
            f"sys.argv = [{str(script)!r}, '--help']\n"
            "try:\n"
            f"    runpy.run_path({str(script)!r}, run_name='__main__')\n"
            "except SystemExit:\n"
            "    pass\n"
            "print(os.environ.get('OMP_NUM_THREADS'))\n")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.split()[-1] == expected
