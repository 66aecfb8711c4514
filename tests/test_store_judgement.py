"""How the store judges an article it is handed: new, unchanged, a version, a duplicate.

These go through the dedup pipeline and the store for real, on a SQLite file, without a
crawl: the cases a crawl of a local site cannot produce (https, www.) or produces slowly.
"""

from dataclasses import asdict

import pytest

from pipelines.database import ArticleStore
from pipelines.dedup import DedupPipeline
from pipelines.fingerprints import content_hash
from pipelines.items import Article
from tests.sites import distinct_words

TEXT = "\n".join(f"{distinct_words(f'store test {p}', 20).capitalize()}." for p in range(8))


def article(url: str, text: str = TEXT, title: str = "A title", source: str = "news",
            **fields) -> dict:
    item = Article(source=source, url=url, title=title, text=text,
                   fetch={"urls": [url], "etag": '"1"'}, **fields)
    return asdict(DedupPipeline().process_item(item))


@pytest.fixture
def store(tmp_path):
    s = ArticleStore(tmp_path / "store.db")
    yield s
    s.close()


def save(store, *articles, runs=None) -> dict:
    outcomes = store.save_batch(list(articles), [], runs or {})
    return {outcome: n for (_, outcome), n in outcomes.items() if n}


def count(store, table, where="1", params=()):
    return store.db.execute(f"select count(*) from {table} where {where}", params).fetchone()[0]


def test_http_https_and_www_twins_of_an_article_are_one_row(store):
    assert save(store, article("http://www.example.com/news/a.html")) == {"new": 1}
    assert save(store, article("https://example.com/news/a.html"),
                article("https://www.example.com/news/a.html")) == {"unchanged": 2}
    assert count(store, "articles") == 1
    assert count(store, "article_urls", "kind = 'alias'") == 2


def test_same_text_under_another_url_of_another_source_is_a_duplicate(store):
    save(store, article("https://example.com/a.html"))
    assert save(store, article("https://mirror.example.org/copy.html", source="mirror")) == \
        {"duplicate": 1}
    assert count(store, "articles") == 1
    row = store.db.execute("select kind, similarity, source from article_urls where url = ?",
                           ["https://mirror.example.org/copy.html"]).fetchone()
    assert row == ("duplicate", 1.0, "mirror")


def test_whitespace_and_a_changed_date_line_are_not_a_new_version(store):
    save(store, article("https://example.com/a.html", text="Updated: 3 Nov 2026, 10:00\n" + TEXT))
    cosmetic = "Updated:  Wed 4 November 2026,  18:45\n" + TEXT.replace(" ", "   ")
    assert save(store, article("https://example.com/a.html", text=cosmetic)) == {"unchanged": 1}
    assert count(store, "article_versions") == 0


def test_changed_text_keeps_the_previous_state_as_a_version(store):
    save(store, article("https://example.com/a.html", modified="2026-11-03T10:00:00+00:00"))
    changed = TEXT + "\nA correction was added to this story on Wednesday afternoon."
    assert save(store, article("https://example.com/a.html", text=changed,
                               modified="2026-11-04T18:00:00+00:00")) == {"updated": 1}
    version = store.db.execute("select version, text, content_hash, modified "
                               "from article_versions").fetchone()
    assert version == (1, TEXT, content_hash(TEXT), "2026-11-03T10:00:00+00:00")
    assert store.db.execute("select version, modified from articles").fetchone() == \
        (2, "2026-11-04T18:00:00+00:00")


def test_an_unrelated_article_is_not_a_near_duplicate(store):
    other = "\n".join(f"{distinct_words(f'other {p}', 20).capitalize()}." for p in range(8))
    assert save(store, article("https://example.com/a.html"),
                article("https://example.com/b.html", text=other)) == {"new": 2}


def test_the_near_duplicate_threshold_is_respected(tmp_path):
    sentence = TEXT.split("\n")[3]
    edited = TEXT.replace(sentence, " ".join(sentence.split()[:10]) + " was rewritten here.")
    strict = ArticleStore(tmp_path / "strict.db", near_duplicate_threshold=0.95)
    assert save(strict, article("https://a.example/x"), article("https://b.example/y",
                                                                text=edited)) == {"new": 2}
    strict.close()
    loose = ArticleStore(tmp_path / "loose.db", near_duplicate_threshold=0.8)
    assert save(loose, article("https://a.example/x"), article("https://b.example/y",
                                                               text=edited)) == {"new": 1, "duplicate": 1}
    kind, similarity = loose.db.execute("select kind, similarity from article_urls "
                                        "where url = 'https://b.example/y'").fetchone()
    assert kind == "near_duplicate" and 0.8 <= similarity < 0.95
    loose.close()


def test_a_page_whose_canonical_names_another_text_is_an_article_of_its_own(store):
    save(store, article("https://example.com/"))
    other = "\n".join(f"{distinct_words(f'other {p}', 20).capitalize()}." for p in range(8))
    misdeclared = article("https://example.com/", text=other, title="Another story")
    misdeclared["fetch"]["urls"] = ["https://example.com/news/another.html"]
    assert save(store, misdeclared) == {"new": 1}
    assert [r[0] for r in store.db.execute("select url from articles order by id")] == [
        "https://example.com/", "https://example.com/news/another.html"]


def test_a_store_from_schema_v1_gets_its_hashes_and_index_on_opening(tmp_path):
    import sqlite_utils

    from pipelines.database import MIGRATIONS

    db = sqlite_utils.Database(tmp_path / "old.db")
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    db["articles"].insert({"url": "https://example.com/a.html", "source": "news", "text": TEXT,
                           "content_hash": "old-style", "first_seen": "2026-01-01",
                           "last_seen": "2026-01-01"})
    db.close()
    store = ArticleStore(tmp_path / "old.db")
    assert store.db.execute("select content_hash from articles").fetchone()[0] == content_hash(TEXT)
    assert save(store, article("https://mirror.example.org/a.html", source="mirror")) == \
        {"duplicate": 1}
    assert count(store, "near_duplicate_keys") == 14
    store.close()


def search(store, words: str) -> list[int]:
    return [r[0] for r in store.db.execute(
        "select rowid from articles_fts where articles_fts match ? order by rowid", [words])]


def test_search_follows_new_versions_and_a_store_from_v4_keeps_its_index(tmp_path):
    """From schema v5 the index is rewritten only when title, description or text change
    (marking an article seen used to re-index its whole text); search must stay right."""
    import sqlite_utils

    from pipelines.database import MIGRATIONS

    db = sqlite_utils.Database(tmp_path / "v4.db")
    for n, migration in enumerate(MIGRATIONS[:4]):
        migration(db)
        db.execute(f"PRAGMA user_version = {n + 1}")
    db.close()
    store = ArticleStore(tmp_path / "v4.db")  # migrated to the current schema on opening
    first_words = " ".join(TEXT.split()[:3]).strip(".")
    save(store, article("https://example.com/a.html"))
    assert search(store, first_words) == [1]

    save(store, article("https://example.com/a.html", fetched_at="2099-01-01T00:00:00+00:00"))
    assert store.db.execute("select last_seen from articles").fetchone()[0].startswith("2099")
    assert search(store, first_words) == [1]  # seen again: still found

    rewritten = "\n".join(f"{distinct_words(f'rewritten {p}', 20).capitalize()}." for p in range(8))
    # Fetched after it was last seen (a capture from before that is the past: unchanged).
    assert save(store, article("https://example.com/a.html", text=rewritten,
                               fetched_at="2099-01-02T00:00:00+00:00")) == {"updated": 1}
    assert search(store, first_words) == []
    assert search(store, " ".join(rewritten.split()[:3]).strip(".")) == [1]
    assert count(store, "articles_fts") == 1
    store.close()


def test_minhash_signatures_are_datasketchs_so_stored_keys_stay_valid():
    """newsmill computes datasketch's MinHash (affine32, seed 1, SHA-1) itself: stores
    written with datasketch keep finding their near duplicates, value for value."""
    from datasketch import MinHash

    from pipelines.fingerprints import NUM_PERM, SCHEME, SEED, minhash, shingles

    texts = [TEXT, "one", "two words", "three words here", "Ünïcode, ünicode, ÜNICODE café 2026",
             *(distinct_words(f"signature {n}", 5 + 40 * n) for n in range(30))]
    for text in texts:
        grams = shingles(text)
        reference = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
        reference.update_batch([g.encode("utf-8") for g in grams])
        ours = minhash(grams)
        assert ours.dtype == reference.hashvalues.dtype
        assert ours.tolist() == reference.hashvalues.tolist(), text[:40]


def test_the_earlier_publication_is_the_original_whatever_the_pages_declare(store):
    save(store, article("https://example.com/a.html", published="2026-11-09T08:00:00+00:00",
                        claims_original=3))
    copy = article("https://mirror.example.org/a.html", source="mirror",
                   published="2026-11-01", claims_original=-1)
    assert save(store, copy) == {"duplicate": 1}
    assert store.db.execute("select url, source from articles").fetchall() == [
        ("https://mirror.example.org/a.html", "mirror")]


def test_a_page_naming_another_sites_page_canonical_gives_way_when_dates_do_not_tell(store):
    save(store, article("https://mirror.example.org/a.html", source="mirror",
                        published="2026-11-09", claims_original=-1))
    assert save(store, article("https://example.com/a.html", claims_original=0)) == \
        {"duplicate": 1}
    assert store.db.execute("select url from articles").fetchall() == [
        ("https://example.com/a.html",)]


def test_when_dates_do_not_tell_the_page_declaring_itself_the_original_takes_the_row(store):
    save(store, article("https://mirror.example.org/a.html", source="mirror",
                        published="2026-11-09", claims_original=0))
    original = article("https://example.com/a.html", published="2026-11-09T08:00:00+00:00",
                       claims_original=3)
    assert save(store, original) == {"duplicate": 1}
    assert store.db.execute("select id, url, source, claims_original from articles").fetchall() \
        == [(1, "https://example.com/a.html", "news", 3)]
    assert store.db.execute("select kind from article_urls where url = ?",
                            ["https://mirror.example.org/a.html"]).fetchone() == ("duplicate",)


def test_an_article_stored_before_schema_8_stays_when_dates_do_not_tell(store):
    save(store, article("https://mirror.example.org/a.html", source="mirror"))  # claim unknown
    assert save(store, article("https://example.com/a.html", claims_original=3)) == \
        {"duplicate": 1}
    assert store.db.execute("select url from articles").fetchall() == [
        ("https://mirror.example.org/a.html",)]


def test_an_article_stored_before_schema_8_goes_to_its_original_once_both_pages_are_read(store):
    copy = "https://mirror.example.org/a.html"
    save(store, article(copy, source="mirror", published="2026-11-09"))  # claim unknown
    def original():
        return article("https://example.com/a.html", published="2026-11-09T08:00:00+00:00",
                       claims_original=3)

    save(store, original())  # the dates do not tell, the copy's claim is unknown: it stays
    assert store.db.execute("select url from articles").fetchall() == [(copy,)]

    save(store, article(copy, source="mirror", published="2026-11-09", claims_original=0))
    assert save(store, original()) == {"duplicate": 1}

    assert store.db.execute("select id, url, source, claims_original from articles").fetchall() \
        == [(1, "https://example.com/a.html", "news", 3)]
    assert dict(store.db.execute("select url, kind from article_urls").fetchall()) == {
        "https://example.com/a.html": "canonical", copy: "duplicate"}
    changed = TEXT + "\nA correction was added to this story on Wednesday afternoon."
    assert save(store, article("https://example.com/a.html", text=changed,
                               published="2026-11-09T08:00:00+00:00", claims_original=3)) == \
        {"updated": 1}
