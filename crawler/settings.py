"""Scrapy settings for newsmill: polite defaults, every one overridable per run.

`newsmill crawl -s NAME=VALUE` and `scrapy crawl articles -s NAME=VALUE` override any of
these. newsmill's own settings start with NEWSMILL_ or EXTRACT_ and are documented here.
"""

BOT_NAME = "newsmill"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# --- newsmill's own settings -------------------------------------------------------
# Where sources come from when the command line does not hand them over as NEWSMILL_SOURCES.
NEWSMILL_SOURCES_FILE = "data/sources.toml"
# Names of the sources to crawl from that file (empty: all enabled ones).
NEWSMILL_SOURCE_NAMES = []
# The sources themselves, as dicts; set by `newsmill crawl` (wins over the file).
NEWSMILL_SOURCES = []
# The SQLite store.
NEWSMILL_DB = "data/newsmill.db"
# Articles are written in batches of this many, in one transaction each.
NEWSMILL_STORE_BATCH = 200
# ... or after this many seconds, whichever comes first.
NEWSMILL_STORE_FLUSH_SECONDS = 2.0
# Progress display: "auto" (a bar on a terminal, log lines otherwise), "bar", "log", "off".
NEWSMILL_PROGRESS = "auto"
# Seconds between progress log lines when no bar is shown.
NEWSMILL_PROGRESS_INTERVAL = 10.0

# Extraction runs in worker processes, off the reactor thread; 0 means one per core.
EXTRACT_WORKERS = 0
# The extraction workers are replaced by fresh ones after this many pages (bounds any slow
# leak over long runs; 0: never). The old workers finish what was queued on them, then the
# new ones start: one pool in memory at a time.
EXTRACT_RECYCLE_PAGES = 2000
# Pages whose extracted body has fewer words are counted as "not an article" and not stored
# (some real articles are a few sentences long: the shared corpus has one of 18 words).
EXTRACT_MIN_WORDS = 10
# Options passed to trafilatura's extraction (its defaults otherwise).
EXTRACT_FAVOR_PRECISION = False
EXTRACT_FAVOR_RECALL = False
EXTRACT_INCLUDE_COMMENTS = True
EXTRACT_INCLUDE_TABLES = True

# --- Scrapy behaviour --------------------------------------------------------------
# Name newsmill honestly; operators should add a contact URL or address with -s USER_AGENT=...
USER_AGENT = "newsmill/0.1 (article crawler; Scrapy)"
ROBOTSTXT_OBEY = True
ROBOTSTXT_PARSER = "scrapy.robotstxt.ProtegoRobotParser"

CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.25
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0

# Items handled in parallel per response. An article response yields one Page, a listing
# only requests; Scrapy's default (100) starts 100 asyncio tasks per response for nothing,
# about 1 ms of reactor CPU per page (benchmarks/throughput.py). Pages still go to the
# extraction pool in parallel across responses.
CONCURRENT_ITEMS = 4

DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Wait before each retry: RETRY_BACKOFF_BASE seconds, doubling, at most RETRY_BACKOFF_MAX;
# a Retry-After header is honoured up to RETRY_AFTER_MAX seconds (longer: give up).
RETRY_BACKOFF_BASE = 1.0
RETRY_BACKOFF_MAX = 60.0
RETRY_AFTER_MAX = 300.0
REDIRECT_MAX_TIMES = 10
DNSCACHE_ENABLED = True

COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy's remote control opens a listening port; a crawler needs none.
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"
STATS_DUMP = False
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"

# Depth is tracked per source by the spider itself (max_depth), not by DepthMiddleware.
DEPTH_LIMIT = 0

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.HeadMetaRefreshMiddleware": 580,
}

ITEM_PIPELINES = {
    "pipelines.extraction.ExtractionPipeline": 100,
    "pipelines.storage.StoragePipeline": 900,
}

EXTENSIONS = {
    "crawler.extensions.CrawlProgress": 500,
}
