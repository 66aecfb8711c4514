"""trafilatura's pruning expressions, tested in Python: the same elements, at a fraction of the cost.

trafilatura prunes a page with XPath expressions that test every element's id and class
with EXSLT regular expressions (`re:test`). lxml runs each `re:test` as a call back into
Python with the attribute as a node-set: on a news page the five heaviest expressions cost
~4 ms, about 15 % of an extraction (benchmarks/README.md, import-warc, fifteenth session).
The same conditions tested in Python on the elements themselves cost a fifth of that.

`python_test(xpath)` reads an expression's text and returns a function of a tree giving
what the expression gives (its elements, in document order), or None where the text uses
anything this module does not know: that expression is then run as it is. One shape is
read: `.//*[...][...]` (also from the document, `//*`, and the positions `[1]` and
`(...)[1]`), each predicate an `or` of `self::TAG`, `@NAME`, `@NAME='value'`,
`re:test(@A|@B, 'pattern'[, 'i'])`, `contains(...)`, `starts-with(...)`, `translate(...)`
of an attribute, `not(...)` and `.//TAG`. XPath's string of `@A|@B` is its first attribute
in the element's source order, as lxml's `re:test` reads it.

`faster_pruning()` puts those functions in trafilatura's lists while a block runs (the
extraction worker's), so trafilatura's own steps use them. tests/test_trafilatura_xpaths.py
holds each one equal to trafilatura's expression on the trees the extraction of every news
corpus page gives it (both corpora's 1,618 pages, once: benchmarks/README.md, import-warc).
(A hand-written copy of the library's expressions, for speed alone: lxml has no faster way
to run `re:test`; the expressions are read from the installed trafilatura, so another
version's are translated, or run as they are.)
"""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from functools import cache

# The lists whose expressions are tested in Python while faster_pruning() runs: those a
# newsmill extraction spends most in (the pruning, the body's container, the byline search).
PRUNING_LISTS = ("RAW_TREE_PRUNE_XPATH", "REMOVE_COMMENTS_AND_LISTS_XPATH", "REMOVE_COMMENTS_XPATH",
                 "OVERALL_DISCARD_XPATH", "BODY_XPATH", "AUTHOR_DISCARD_XPATHS", "AUTHOR_XPATHS")

_STRING = r"'([^']*)'"
_ATTRS = r"(@[\w:-]+(?:\s*\|\s*@[\w:-]+)*)"
_SELF = re.compile(r"self::([\w-]+)$")
_HAS = re.compile(r"@([\w:-]+)$")
_EQUALS = re.compile(rf"@([\w:-]+)\s*=\s*{_STRING}$")
_RE_TEST = re.compile(rf"re:test\(\s*{_ATTRS}\s*,\s*{_STRING}\s*(?:,\s*{_STRING}\s*)?\)$")
_CONTAINS = re.compile(rf"(contains|starts-with)\(\s*{_ATTRS}\s*,\s*{_STRING}\s*\)$")
_CONTAINS_TRANSLATED = re.compile(
    rf"(contains|starts-with)\(\s*translate\(\s*{_ATTRS}\s*,\s*{_STRING}\s*,\s*{_STRING}\s*\)\s*,\s*{_STRING}\s*\)$")
_NOT = re.compile(r"not\((.*)\)$", re.DOTALL)
_HAS_DESCENDANT = re.compile(r"\.//([\w-]+)$")


class Unknown(ValueError):
    """A piece of XPath this module does not translate."""


def _split(text: str, word: str = "or") -> list[str]:
    """`text` cut at `word` where it stands outside brackets, parentheses and quotes."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    separator = f" {word} "
    while i < len(text):
        char = text[i]
        if char == "'":
            quoted = not quoted
        elif not quoted and char in "([":
            depth += 1
        elif not quoted and char in ")]":
            depth -= 1
        elif not quoted and depth == 0 and text.startswith(separator, i):
            parts.append(text[start:i])
            i += len(separator)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return [" ".join(part.split()) for part in parts]


def _predicates(path: str) -> tuple[list[str], str, bool]:
    """The bracketed predicates of `.//*[...][...]`; which elements are kept: "all",
    "first" of all (`(.//*[...])[1]`) or each parent's "first child" that passes
    (`.//*[...][1]`); and whether the path starts from the document (`//*`) rather than
    from the element it is given."""
    path = " ".join(path.split())
    keep = "all"
    if path.startswith("(") and path.endswith(")[1]"):
        path, keep = path[1:-4].strip(), "first"
    document = path.startswith("//*[")
    if document:
        path = "." + path
    if not path.startswith(".//*["):
        raise Unknown(path)
    predicates, depth, quoted, start = [], 0, False, None
    for i, char in enumerate(path[4:], 4):
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char == "[":
            if depth == 0:
                start = i + 1
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                predicates.append(path[start:i].strip())
        elif depth == 0 and char != " ":
            raise Unknown(path)  # a union, an axis or a step after the predicates
    if predicates and predicates[-1] == "1" and keep == "all":
        predicates, keep = predicates[:-1], "first child"
    if depth or not predicates or any(p.isdigit() or not p for p in predicates):
        raise Unknown(path)  # other positional predicates are not read
    return predicates, keep, document


def _first(names: list[str]):
    """XPath's string value of `@A|@B|...`: the first of them in source order, or ''."""

    def value(element) -> str:
        found = [name for name in names if element.get(name) is not None]
        if not found:
            return ""
        if len(found) > 1:
            found = [name for name in element.keys() if name in found]
        return element.get(found[0]) or ""

    return value


def _names(attrs: str) -> list[str]:
    return [name.strip().lstrip("@") for name in attrs.split("|")]


class _Source:
    """A predicate as one Python expression of `e` (the element) and `g` (its `get`), and
    the objects it names: one call per element, where a function per term cost twice."""

    def __init__(self):
        self.objects: dict[str, object] = {}

    def name(self, value) -> str:
        key = f"k{len(self.objects)}"
        self.objects[key] = value
        return key

    def value(self, attrs: str) -> str:
        names = _names(attrs)
        if len(names) == 1:
            return f"(g({names[0]!r}) or '')"
        return f"{self.name(_first(names))}(e)"

    def search(self, pattern: str, flags: str, value: str) -> str:
        # As lxml's EXSLT re:test: Python's re, searched, "i" for case-insensitive.
        compiled = re.compile(pattern, re.IGNORECASE if "i" in flags else 0)
        return f"({self.name(compiled.search)}({value}) is not None)"

    def term(self, text: str) -> str:
        """One term of an `or` (or raise Unknown)."""
        if match := _SELF.match(text):
            return f"(e.tag == {match.group(1)!r})"
        if match := _HAS.match(text):
            return f"(g({match.group(1)!r}) is not None)"
        if match := _EQUALS.match(text):
            return f"(g({match.group(1)!r}) == {match.group(2)!r})"
        if match := _RE_TEST.match(text):
            return self.search(match.group(2), match.group(3) or "", self.value(match.group(1)))
        if match := _CONTAINS.match(text):
            function, attrs, wanted = match.groups()
            if function == "contains":
                return f"({wanted!r} in {self.value(attrs)})"
            return f"{self.value(attrs)}.startswith({wanted!r})"
        if match := _CONTAINS_TRANSLATED.match(text):
            function, attrs, source, target, wanted = match.groups()
            if len(source) != len(target):
                raise Unknown(text)  # translate() deleting characters: not needed here
            value = f"{self.value(attrs)}.translate({self.name(str.maketrans(source, target))})"
            if function == "contains":
                return f"({wanted!r} in {value})"
            return f"{value}.startswith({wanted!r})"
        if match := _NOT.match(text):
            return f"(not {self.any_of(match.group(1))})"
        if match := _HAS_DESCENDANT.match(text):
            return f"(next(e.iterdescendants({match.group(1)!r}), None) is not None)"
        raise Unknown(text)

    def any_of(self, text: str) -> str:
        """An `or` of terms; the regular expressions on one attribute searched as one."""
        terms, patterns = [], {}
        for part in _split(text):
            match = _RE_TEST.match(part)
            if match and "|" not in match.group(1):
                patterns.setdefault((match.group(1).strip(), match.group(3) or ""), []).append(
                    f"(?:{match.group(2)})")
            else:
                terms.append(self.term(part))
        for (attr, flags), alternatives in patterns.items():
            terms.append(self.search("|".join(alternatives), flags, self.value(attr)))
        return f"({' or '.join(terms)})"

    def function(self, predicates: list[str]):
        source = " and ".join(self.any_of(p) for p in predicates)
        namespace = {**self.objects, "next": next}
        exec(f"def passes(e):\n    g = e.get\n    return {source}\n", namespace)
        return namespace["passes"]


def _tags(predicate: str) -> tuple[str, ...] | None:
    """The tags of a predicate that is only `self::A or self::B ...`, else None."""
    tags = []
    for part in _split(predicate):
        if not (match := _SELF.match(part)):
            return None
        tags.append(match.group(1))
    return tuple(tags)


class PythonTest:
    """An expression's test in Python, called as the XPath object is; `path` is its text."""

    def __init__(self, path: str, passes, tags: tuple[str, ...] | None, keep: str,
                 document: bool):
        self.path, self.passes, self.tags, self.keep = path, passes, tags, keep
        self.document = document

    def __call__(self, tree) -> list:
        passes, tags = self.passes, self.tags or ()
        if self.document:  # `//*`: every element of the tree `tree` is in, its root too
            candidates = tree.getroottree().getroot().iter(*tags)
        else:
            candidates = tree.iterdescendants(*tags)
        if not tags:
            candidates = (element for element in candidates if isinstance(element.tag, str))
        if self.keep == "first":
            return next(([element] for element in candidates if passes(element)), [])
        found = [element for element in candidates if passes(element)]
        if self.keep == "first child":
            found = [element for element in found if not any(
                passes(sibling) for sibling in element.itersiblings(*tags, preceding=True)
                if isinstance(sibling.tag, str))]
        return found


@cache
def _python_test(path: str) -> PythonTest | None:
    try:
        predicates, keep, document = _predicates(path)
        tags = _tags(predicates[0])
        rest = predicates[1:] if tags else predicates
        passes = _Source().function(rest) if rest else None
    except Unknown:
        return None
    if passes is None:
        return None
    return PythonTest(path, passes, tags, keep, document)


def python_test(xpath) -> PythonTest | None:
    """A function of a tree returning the elements `xpath` returns, in document order;
    None where its text is not of the shape this module reads."""
    if isinstance(xpath, PythonTest):
        return xpath
    return _python_test(xpath.path)


def _faster(expressions: list) -> list:
    return [python_test(x) or x if hasattr(x, "path") else x for x in expressions]


# Each list's expressions and what stands for them, worked out once (not for every page).
_REPLACED: dict[int, tuple[list, list]] = {}


# faster_pruning() blocks running now (nested, or on other threads): the lists are put
# back when the last one ends.
_USERS = {"count": 0, "saved": []}
_LOCK = threading.Lock()


@contextmanager
def faster_pruning():
    """While the block runs, trafilatura's PRUNING_LISTS hold the Python tests in place of
    the expressions they stand for (trafilatura's modules share those list objects)."""
    with _LOCK:
        if _USERS["count"] == 0:
            _USERS["saved"] = _swap()
        _USERS["count"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _USERS["count"] -= 1
            if _USERS["count"] == 0:
                for expressions, original in _USERS["saved"]:
                    expressions[:] = original


def _swap() -> list[tuple[list, list]]:
    """Put the Python tests in trafilatura's lists; each list with what it held."""
    from trafilatura import xpaths

    saved = []
    for name in PRUNING_LISTS:
        expressions = getattr(xpaths, name, None)
        if not isinstance(expressions, list):
            continue
        original, replaced = _REPLACED.get(id(expressions), (None, None))
        if original is None or len(original) != len(expressions) or any(
                a is not b for a, b in zip(original, expressions)):
            original, replaced = expressions[:], _faster(expressions)
            _REPLACED[id(expressions)] = original, replaced
        saved.append((expressions, original))
        expressions[:] = replaced
    return saved
