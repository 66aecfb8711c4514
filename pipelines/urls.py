"""URL helpers shared by the spider and the pipelines: sites and normal forms."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from courlan import normalize_url
from w3lib.url import url_query_cleaner

# Query parameters that only track the reader; they never change the article.
TRACKING_PARAMS = (
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id",
    "utm_name", "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid",
    "yclid", "_ga", "ref_src", "cmpid", "ncid", "ocid", "sessionid", "sid", "phpsessid",
    "jsessionid", "aspsessionid",
)

# Query flags that only ask for the AMP or print layout of the same article: dropping them
# is safe (the plain URL serves the same article). Path and host forms of AMP and print
# pages (`/amp/`, `.amp.html`, `amp.` hosts, `/print/`) are not rewritten here: the rule would
# be a guess, and those pages declare their article with rel=canonical, which AMP requires.
LAYOUT_FLAGS = {
    "amp": {"", "1", "true", "yes"},
    "outputtype": {"amp"},
    "output": {"amp"},
    "print": {"", "1", "true", "yes"},
    "printable": {"", "1", "true", "yes"},
    "view": {"print", "amp"},
}

# Session ids carried in the path (`/a;jsessionid=XYZ`), which no query cleaner sees.
_PATH_SESSION = re.compile(r";(?:jsessionid|phpsessid|sid|sessionid)=[^/?#]*", re.IGNORECASE)


@lru_cache(maxsize=1)
def _suffixes():
    """The public suffix snapshot bundled with tldextract: a crawl never fetches the list.

    Made at the first question, not on import: importing tldextract (requests, urllib3,
    filelock) and reading the snapshot cost ~55 ms of CPU, which a re-crawl whose
    listings answer 304 never needs."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@lru_cache(maxsize=65536)
def registered_domain(host: str) -> str:
    """`example.co.uk` for `www.news.example.co.uk`; an IP address or bare host as it is."""
    host = host.lower().rstrip(".")
    parts = _suffixes()(host)
    return parts.top_domain_under_public_suffix or host


def same_site(url: str, other: str) -> bool:
    """True when both URLs belong to the same registered domain (or the same IP host)."""
    a, b = urlsplit(url).hostname, urlsplit(other).hostname
    return bool(a and b) and registered_domain(a) == registered_domain(b)


def clean_url(url: str) -> str:
    """The URL without fragment, tracking parameters or cosmetic differences.

    courlan normalizes scheme and host case, default ports and query order;
    w3lib drops the tracking and session parameters (matched case-insensitively, every
    `utm_*`) and the query flags that only ask for an AMP or print layout.
    """
    parts = urlsplit(url.strip())
    if _PATH_SESSION.search(parts.path):
        url = urlunsplit(parts._replace(path=_PATH_SESSION.sub("", parts.path)))
    unwanted = [key for key, value in parse_qsl(parts.query, keep_blank_values=True)
                if _is_unwanted_param(key, value)]
    cleaned = url_query_cleaner(url, unwanted, remove=True, unique=False, keep_fragments=False)
    try:
        return normalize_url(cleaned, strict=False, trailing_slash=True)
    except ValueError:
        return cleaned


def _is_unwanted_param(key: str, value: str) -> bool:
    key = key.lower()
    if key in TRACKING_PARAMS or key.startswith("utm_"):
        return True
    return value.lower() in LAYOUT_FLAGS.get(key, ())


def scheme_and_www_variants(url: str) -> list[str]:
    """The URL under http and https, with and without `www.`: one article on most sites.

    The store looks these up (by primary key, a handful of lookups) before it takes a URL
    for a new article, so `http://www.x.com/a` and `https://x.com/a` end as one row.
    """
    parts = urlsplit(url)
    host = parts.netloc
    bare = host[4:] if host.startswith("www.") else host
    hosts = [bare] if _is_ip_host(parts.hostname or "") else [bare, "www." + bare]
    variants = [urlunsplit(parts._replace(scheme=scheme, netloc=h))
                for scheme in ("https", "http") for h in hosts]
    return list(dict.fromkeys([url, *variants]))


def _is_ip_host(host: str) -> bool:
    return bool(re.fullmatch(r"[\d.]+|\[?[0-9a-f:]+\]?", host))


def on_domains(url: str, domains) -> bool:
    """True when the URL's host is one of `domains` or below one of them.

    Scrapy's url_is_from_any_domain compares the netloc, port included, so it never
    matches a site served on a non-default port; this compares host names.
    """
    host = (urlsplit(url).hostname or "").lower()
    return bool(host) and any(host == d or host.endswith("." + d) for d in domains)
