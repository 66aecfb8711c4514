"""URL helpers shared by the spider and the pipelines: sites and normal forms."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

import tldextract
from courlan import normalize_url
from w3lib.url import url_query_cleaner

# The public suffix snapshot bundled with tldextract: a crawl never fetches the list.
_SUFFIXES = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

# Query parameters that only track the reader; they never change the article.
TRACKING_PARAMS = (
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id",
    "utm_name", "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid",
    "yclid", "_ga", "ref_src", "cmpid", "ncid", "ocid", "sessionid", "sid", "phpsessid",
    "jsessionid", "aspsessionid",
)


@lru_cache(maxsize=65536)
def registered_domain(host: str) -> str:
    """`example.co.uk` for `www.news.example.co.uk`; an IP address or bare host as it is."""
    host = host.lower().rstrip(".")
    parts = _SUFFIXES(host)
    return parts.top_domain_under_public_suffix or host


def same_site(url: str, other: str) -> bool:
    """True when both URLs belong to the same registered domain (or the same IP host)."""
    a, b = urlsplit(url).hostname, urlsplit(other).hostname
    return bool(a and b) and registered_domain(a) == registered_domain(b)


def clean_url(url: str) -> str:
    """The URL without fragment, tracking parameters or cosmetic differences.

    courlan normalizes scheme and host case, default ports and query order;
    w3lib drops the tracking parameters.
    """
    cleaned = url_query_cleaner(url, TRACKING_PARAMS, remove=True, unique=False, keep_fragments=False)
    try:
        return normalize_url(cleaned, strict=False, trailing_slash=True)
    except ValueError:
        return cleaned


def on_domains(url: str, domains) -> bool:
    """True when the URL's host is one of `domains` or below one of them.

    Scrapy's url_is_from_any_domain compares the netloc, port included, so it never
    matches a site served on a non-default port; this compares host names.
    """
    host = (urlsplit(url).hostname or "").lower()
    return bool(host) and any(host == d or host.endswith("." + d) for d in domains)
