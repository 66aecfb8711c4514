"""What the article page shows: an article's fields, its URLs, copies and versions with diffs.

Read-only: every query here is a `select` through Datasette's read-only connections. The
page's template (templates/row-newsmill-articles.html) escapes every value; the only
markup made here is the word diff, which escapes each word itself.
"""

from __future__ import annotations

import difflib
import json
import re

from markupsafe import Markup, escape

# Unchanged words kept around each change in a version's diff; longer unchanged stretches
# are folded into "… N unchanged words …", as Wikipedia's history does.
DIFF_CONTEXT_WORDS = 30

# The articles table's columns in the order the table view shows them by default: the
# title first, then what tells articles apart at a glance. `text` and `content_hash` are
# left out (JSON, CSV and `?_col=text` still have them); a column not named here (a later
# migration's) comes after these.
TABLE_COLUMNS = ["title", "source", "published", "word_count", "section", "author",
                 "language", "tags", "version", "last_seen", "first_seen", "modified",
                 "description", "url", "image", "sitename", "publisher", "claims_original",
                 "id"]
TABLE_HIDDEN_COLUMNS = {"text", "content_hash"}

_WORD = re.compile(r"(\S+)(\s*)")


def table_columns(names: list[str], chosen: bool) -> list[str]:
    """The columns the articles table shows, in order; all of them when the reader chose."""
    if chosen:
        return list(names)
    return ([n for n in TABLE_COLUMNS if n in names]
            + [n for n in names if n not in TABLE_COLUMNS and n not in TABLE_HIDDEN_COLUMNS])


def http_link(value: str | None) -> str | None:
    """The value if it is an http(s) URL, else None: a page's `javascript:` is never a link."""
    if value and re.match(r"https?://", value, re.IGNORECASE):
        return value
    return None


def word_diff(old: str, new: str, context: int = DIFF_CONTEXT_WORDS) -> Markup:
    """`new` marked against `old`: inserted words in <ins>, removed ones in <del>.

    difflib's SequenceMatcher over words (not characters: a changed sentence reads as one
    change). autojunk is off, as its "popular words" heuristic would skip "the" and "a" in
    texts over 200 words and misplace the changes. Every word is escaped here; whitespace
    (newlines between paragraphs) is kept for a `white-space: pre-wrap` block to show.
    """
    old_words = _WORD.findall(old or "")
    new_words = _WORD.findall(new or "")
    matcher = difflib.SequenceMatcher(None, [w for w, _ in old_words],
                                      [w for w, _ in new_words], autojunk=False)
    opcodes = matcher.get_opcodes()
    parts: list[str] = []
    for index, (op, i1, i2, j1, j2) in enumerate(opcodes):
        if op == "equal":
            parts.append(_unchanged(new_words[j1:j2], context, first=index == 0,
                                    last=index == len(opcodes) - 1))
            continue
        if op in ("delete", "replace"):
            parts.append(_marked("del", old_words[i1:i2]) + (" " if op == "replace" else
                                                              _space(old_words[i2 - 1][1])))
        if op in ("insert", "replace"):
            parts.append(_marked("ins", new_words[j1:j2]) + _space(new_words[j2 - 1][1]))
    return Markup("".join(parts))


def _marked(tag: str, words: list[tuple[str, str]]) -> str:
    inner = "".join(f"{escape(w)}{s}" for w, s in words[:-1]) + str(escape(words[-1][0]))
    return f"<{tag}>{inner}</{tag}>"


def _space(whitespace: str) -> str:
    return whitespace or " "


def _unchanged(words: list[tuple[str, str]], context: int, first: bool, last: bool) -> str:
    """Unchanged words, the middle of a long run folded away (all of it at either end).

    Up to `context` words are kept next to a change, and up to `context` more to reach the
    start or end of the paragraph the change is in, so that context reads as sentences.
    """
    def text(run):
        return "".join(f"{escape(w)}{s}" for w, s in run)

    def ends_paragraph(i):
        return "\n" in words[i][1]

    head = 0  # words shown after the change before this run
    if not first:
        head = next((i + 1 for i in range(min(len(words), 2 * context)) if ends_paragraph(i)),
                    min(len(words), context))
    tail = len(words)  # the first word shown before the change after this run
    if not last:
        tail = max(0, len(words) - context)
        tail = next((i for i in range(len(words) - 1, max(0, tail - context) - 1, -1)
                     if i == 0 or ends_paragraph(i - 1)), tail)
    if tail - head <= context:
        return text(words)
    fold = f'<span class="diff-fold">… {tail - head} unchanged words …</span>'
    return text(words[:head]) + fold + ("\n" if tail < len(words) else "") + text(words[tail:])


def paragraphs(text: str | None, title: str | None = None) -> list[str]:
    """The text's paragraphs (trafilatura puts one per line), without a first line that
    repeats the title the page shows above them."""
    lines = [p.strip() for p in (text or "").split("\n") if p.strip()]
    return lines[1:] if lines and title and lines[0] == title.strip() else lines


def tags_of(value: str | None) -> list[str]:
    try:
        tags = json.loads(value) if value else []
    except ValueError:
        return [value]
    return [str(t) for t in tags] if isinstance(tags, list) else [str(tags)]


def field_changes(older: dict | None, newer: dict | None) -> list[dict]:
    """The fields (author, published, tags...) that differ from one version to the next, as
    {"name", "before", "after"}; none where the older version's fields were not kept (a
    version from before schema 17)."""
    if older is None or newer is None:
        return []
    changes = []
    for name, before in older.items():
        after = newer.get(name)
        if name == "tags":
            before, after = (", ".join(tags_of(_as_json(v))) for v in (before, after))
        if (before or None) != (after or None):
            changes.append({"name": name, "before": before, "after": after})
    return changes


def _json_object(value: str | None) -> dict | None:
    try:
        found = json.loads(value) if value else None
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _as_json(value) -> str | None:
    """Tags kept inside a version's fields are a list; the articles row's are JSON text."""
    return value if value is None or isinstance(value, str) else json.dumps(value)


async def article_page(db, article_id) -> dict | None:
    """Everything the article page shows, or None for no such article."""
    rows = (await db.execute("select * from articles where id = ?", [article_id])).rows
    if not rows:
        return None
    article = dict(rows[0])
    urls = [dict(r) for r in (await db.execute(
        "select url, kind, source, similarity, first_seen from article_urls "
        "where article_id = ? order by kind != 'canonical', first_seen, url",
        [article_id])).rows]
    # `reason`: why a version was replaced (schema 16), so how the next one came about.
    columns = await db.table_columns("article_versions")
    reason = "reason" if "reason" in columns else "'fetched' as reason"
    # `fields`: the version's other fields as they were (schema 17; NULL before it).
    fields = "fields" if "fields" in columns else "null as fields"
    earlier = [dict(r) for r in (await db.execute(
        f"select version, title, text, content_hash, modified, seen_at, {reason}, {fields} "
        "from article_versions where article_id = ? order by version desc, id desc",
        [article_id])).rows]
    versions = [{"version": article["version"], "title": article["title"],
                 "text": article["text"], "content_hash": article["content_hash"],
                 "modified": article["modified"], "seen_at": article["last_seen"],
                 "fields": article, "current": True}] + \
        [{**v, "fields": _json_object(v["fields"]), "current": False} for v in earlier]
    for newer, older in zip(versions, versions[1:] + [None]):
        newer["words"] = len((newer["text"] or "").split())
        if older is None:
            continue
        if (newer["title"] or "") != (older["title"] or ""):
            newer["title_diff"] = word_diff(older["title"] or "", newer["title"] or "",
                                            context=10_000)
        newer["field_changes"] = field_changes(older["fields"], newer["fields"])
        newer["text_changed"] = (newer["text"] or "") != (older["text"] or "")
        newer["text_diff"] = word_diff(older["text"] or "", newer["text"] or "")
        newer["against"] = older["version"]
        # A publisher's edit, fetched; or the same archived page extracted again.
        newer["reextracted"] = older["reason"] == "re-extraction"
    for url in urls:
        url["link"] = http_link(url["url"])
    return {
        "article": article,
        "paragraphs": paragraphs(article["text"], article["title"]),
        "tags": tags_of(article["tags"]),
        "link": http_link(article["url"]),
        "image_link": http_link(article["image"]),
        "seen_under": [u for u in urls if u["kind"] not in ("duplicate", "near_duplicate")],
        "copies": [u for u in urls if u["kind"] in ("duplicate", "near_duplicate")],
        "versions": versions,
    }
