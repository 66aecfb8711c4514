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
# What gives a crawl its look-ups of the store (known URLs, robots.txt answers kept, listings'
# validators): the SQLite file's, or in `newsmill worker` the writer's, through Redis. Named
# here so that the item pipelines, below the Scrapy project, need not import it.
NEWSMILL_STORE_LOOKUP = "crawler.store_lookups.store_lookup"
# Seconds a write waits for another process (the daemon, another crawl) holding the
# database's write lock; past it the crawl stops with "the database is locked".
NEWSMILL_DB_BUSY_TIMEOUT = 30.0
# Cap on the database's size, in SQLite pages (4 KiB each; PRAGMA max_page_count); past it
# writes fail as on a full disk and the crawl stops. 0: no cap.
NEWSMILL_DB_MAX_PAGES = 0
# Articles are written in batches of this many, in one transaction each.
NEWSMILL_STORE_BATCH = 200
# ... or after this many seconds, whichever comes first.
NEWSMILL_STORE_FLUSH_SECONDS = 2.0
# Progress display: "auto" (a bar on a terminal, log lines otherwise), "bar", "log", "off".
NEWSMILL_PROGRESS = "auto"
# Seconds between progress log lines when no bar is shown.
NEWSMILL_PROGRESS_INTERVAL = 10.0

# Articles whose text is at least this similar (Jaccard similarity of 3-shingles of words, of
# characters in Chinese, Japanese and Thai; 0-1)
# to a stored article are recorded as its near duplicates (article_urls.kind =
# 'near_duplicate'), not stored again. The index finds pairs reliably from about 0.7 up.
NEWSMILL_NEAR_DUPLICATE_THRESHOLD = 0.8
# Known article URLs are re-checked with conditional requests, or skipped when their
# sitemap/feed lastmod is unchanged or their source's recheck_for has passed. False: refetch.
NEWSMILL_RECHECK_KNOWN_URLS = True

# Extraction runs in worker processes, off the reactor thread; 0 means one per core.
EXTRACT_WORKERS = 0
# Each extraction worker is replaced by a fresh one after this many pages (bounds any slow
# leak over long runs; 0: never). The old worker finishes what was given to it, then its
# replacement starts: never more than EXTRACT_WORKERS workers in memory.
EXTRACT_RECYCLE_PAGES = 2000
# Seconds one page's extraction may take before its worker is killed and replaced, and the
# page recorded as an error of kind "extraction" (0: no limit). A page of 20 MiB of text,
# the download limit, takes ~25 s of a core; the limit is for pages made to be slow to
# read. A worker's first page gets twice as long: the worker's start counts too.
EXTRACT_TIMEOUT = 120
# Pages whose extracted body has fewer words are counted as "not an article" and not stored
# (some real articles are a few sentences long: the shared corpus has one of 18 words).
# Chinese and Japanese count a word per character, Thai one per four letters (README).
EXTRACT_MIN_WORDS = 10
# Bounds, in characters, on the metadata a page writes (the text is not bounded): a longer
# value is cut at a space near the bound where there is one (else between two characters,
# never inside one), ends in "…", and the cut is logged. Names: site name and publisher.
# Far above what real pages write (the shared corpus: titles up to 148, descriptions up to
# 1,792, 86 tags on one page), so only pathological values are cut.
EXTRACT_MAX_TITLE_CHARS = 500
EXTRACT_MAX_AUTHOR_CHARS = 500
EXTRACT_MAX_DESCRIPTION_CHARS = 2000
EXTRACT_MAX_SECTION_CHARS = 300
EXTRACT_MAX_NAME_CHARS = 200
# Each tag is cut to EXTRACT_MAX_TAG_CHARS; tags past the first EXTRACT_MAX_TAGS are dropped.
EXTRACT_MAX_TAG_CHARS = 200
EXTRACT_MAX_TAGS = 100
# A lead image URL longer than this is dropped (a shortened URL names nothing).
EXTRACT_MAX_IMAGE_URL_CHARS = 2048
# How the body text is extracted: "newsmill" (trafilatura's precision mode, its balanced
# mode where that finds next to nothing, a body split into chunks joined, headline and
# boilerplate lines dropped: pipelines/article_text.py) or "trafilatura" (plain
# trafilatura with the options below, the text newsmill stored before: the way back).
EXTRACT_ENGINE = "newsmill"
# Options passed to trafilatura's extraction (its defaults otherwise). The newsmill engine
# picks trafilatura's modes itself and ignores EXTRACT_FAVOR_*.
EXTRACT_FAVOR_PRECISION = False
EXTRACT_FAVOR_RECALL = False
# Readers' comments appended to the body. None: the engine's default, which is True for
# the trafilatura engine (trafilatura's own) and False for the newsmill engine.
EXTRACT_INCLUDE_COMMENTS = None
EXTRACT_INCLUDE_TABLES = True

# The archive (crawler/archive.py, docs/archive.md): every page fetched in full is kept as
# WARC records in gzip WARC files. False turns it off for every source (a source's
# `archive = false` for that one). ARCHIVE_DIR: the folder; empty: `archive/` beside the
# database. A file is closed and the next one started past ARCHIVE_MAX_FILE_SIZE bytes.
ARCHIVE_ENABLED = True
ARCHIVE_DIR = ""
ARCHIVE_MAX_FILE_SIZE = 1_000_000_000
# `newsmill reextract`: an article whose new text is another stored article's stays an
# article of its own (a warning names both) unless this is True; then one becomes a copy of
# the other, as a crawl would have stored them, and its row and versions are removed.
REEXTRACT_MERGE_COPIES = False

# Never connect to loopback, private, link-local or reserved addresses unless a source's own
# URL is on one; True turns that protection off (e.g. for an intranet crawl).
NEWSMILL_ALLOW_PRIVATE_ADDRESSES = False
# Each source's run is bounded: at most this many requests, and no new request after its
# `timeout` (from the sources file) or, without one, this many seconds.
NEWSMILL_SOURCE_MAX_REQUESTS = 5000
NEWSMILL_SOURCE_TIMEOUT = 3600
# Sitemap indexes (and robots.txt) lead to at most this many levels of nested sitemaps.
NEWSMILL_MAX_SITEMAP_NESTING = 4

# --- Scrapy behaviour --------------------------------------------------------------
# Name newsmill honestly; operators should add a contact URL or address with -s USER_AGENT=...
USER_AGENT = "newsmill/0.1 (article crawler; Scrapy)"
ROBOTSTXT_OBEY = True
ROBOTSTXT_PARSER = "scrapy.robotstxt.ProtegoRobotParser"
# Seconds a site's robots.txt, once read, is used by later crawls into the same store without
# asking for it again (RFC 9309 allows up to 24 hours; 0: every crawl asks). Answers that
# failed (5xx, timeouts) are never kept.
NEWSMILL_ROBOTSTXT_CACHE = 3600
# Feeds, sitemaps, start pages and (once the cache above has passed) robots.txt are asked for
# with If-None-Match / If-Modified-Since from their last full answer (crawler/recheck.py).
NEWSMILL_CONDITIONAL_LISTINGS = True

CONCURRENT_REQUESTS = 16
# Observed with Scrapy 2.19: at DOWNLOAD_DELAY = 0 this limit is not enforced (a slot starts
# every queued request at once); with any delay above 0 it is. Keep a delay when politeness matters.
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
# A request that runs out of retries is logged once by newsmill, with its error kind
# (crawler/spiders/articles.py); Scrapy's own give-up line would say it again.
RETRY_GIVE_UP_LOG_LEVEL = "DEBUG"
REDIRECT_MAX_TIMES = 10
DNSCACHE_ENABLED = True

COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy's remote control opens a listening port; a crawler needs none.
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"
# The level from which Scrapy's and Twisted's own lines show when `newsmill crawl` is given no
# --log-level (newsmill's own show from LOG_LEVEL): not their start-up listing of versions,
# settings and components (crawler/logs.py). --log-level sets both.
NEWSMILL_LOG_LIBRARIES = "WARNING"
STATS_DUMP = False
# Scrapy's downloader/* stats (requests and bytes by its own reckoning), which newsmill neither
# shows nor stores (runs.bytes is the spider's own count of the bodies): its middleware
# serialised every request again to measure it, ~2% of a worker's own CPU per page.
DOWNLOADER_STATS = False
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"

# Depth is tracked per source by the spider itself (max_depth), and which sites a source may
# reach by the spider and crawler.safety: Scrapy's DepthMiddleware would overwrite the
# spider's depths (a sitemap's child sitemap is not a link further away), and its
# OffsiteMiddleware, with no allowed_domains, passes everything. Both cost CPU per request.
DEPTH_LIMIT = 0
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
}

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.safety.AddressPolicyMiddleware": 50,
    "crawler.safety.SourceLimitsMiddleware": 60,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.RobotsPolicyMiddleware": 100,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    # Before the retry (550) and redirect (600) middlewares: a skipped request is never sent.
    "crawler.recheck.KnownUrlsMiddleware": 540,
    # Feeds, sitemaps, start pages and robots.txt asked for conditionally; after the known
    # URLs are judged, so a start URL known as an article's is re-checked as one.
    "crawler.recheck.ConditionalListingsMiddleware": 545,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.HeadMetaRefreshMiddleware": 580,
    "crawler.middlewares.RedirectLoopMiddleware": 650,
}
# Resolves names, refusing non-public answers for names that are not a source's own.
TWISTED_DNS_RESOLVER = "crawler.safety.SafeResolver"
DNS_TIMEOUT = 20

ITEM_PIPELINES = {
    "pipelines.extraction.ExtractionPipeline": 100,
    "pipelines.dedup.DedupPipeline": 500,
    "pipelines.storage.StoragePipeline": 900,
}

EXTENSIONS = {
    "crawler.extensions.CrawlProgress": 500,
    "crawler.archive.WarcArchive": 510,
}

# --- the daemon (`newsmill daemon -s NAME=VALUE` sets these, and passes every -s to its crawls)
# Seconds between the daemon's heartbeats in the database (what `newsmill status` reads).
NEWSMILL_DAEMON_HEARTBEAT = 5.0
# Each scheduled start is delayed by a random 0..N seconds (at most a tenth of the source's
# interval), so sources sharing a schedule do not all start at the same instant.
NEWSMILL_DAEMON_JITTER = 30.0
# A source without its own `timeout` is stopped after 90% of its interval, kept within these
# bounds (seconds).
NEWSMILL_DAEMON_MIN_TIMEOUT = 60
NEWSMILL_DAEMON_MAX_TIMEOUT = 3600
# Seconds a crawl gets to stop cleanly (flush, mark its run) after SIGTERM before it is killed;
# also the slack after its timeout before the daemon stops it from outside.
NEWSMILL_DAEMON_KILL_GRACE = 10.0
# A failing source waits its interval times 2, 4, 8, ... failures in a row, up to this many
# seconds (never less than its own interval).
NEWSMILL_DAEMON_MAX_BACKOFF = 21600
# Extraction workers of each crawl worker, shared by its crawls (-s EXTRACT_WORKERS, given to
# the daemon, wins): most scheduled crawls find few new pages, and one warm worker costs less
# than one per core.
NEWSMILL_DAEMON_EXTRACT_WORKERS = 1
# Sources with every = "auto": how far back the daemon reads when their articles appeared,
# and how many checks it makes per expected new article (2: a new article waits on average
# a quarter of the time between two articles). The interval stays within the source's
# every_min and every_max (5m and 6h by default).
NEWSMILL_DAEMON_AUTO_WINDOW = "7d"
NEWSMILL_DAEMON_AUTO_CHECKS_PER_ARTICLE = 2.0
# Runs older than this that stored nothing and failed nothing are folded into `runs_daily`,
# a row per source and day, by the daemon at its start and then daily (0: keep every run).
# Runs that stored or updated articles or recorded errors are kept in full.
NEWSMILL_KEEP_RUNS = "30d"
# Long-lived crawl worker processes the daemon hands its crawls to; each crawls many sources at
# once (each its own run), with Scrapy and its extraction workers started once, not per crawl.
# At least 1 (0 is refused at start: the process-per-crawl mode it once chose, at ~14x the CPU
# per check of an unchanged feed, was removed).
# How many crawls run at once, across all workers, follows the work (crawler/concurrency.py),
# up to --max-parallel; the cores it counts on are at most workers x (1 + extraction workers),
# the processes that do the work. Raise these two for full crawls on a machine of many cores.
NEWSMILL_DAEMON_WORKERS = 1
# A worker is replaced by a fresh one after it was given this many crawls (0: never)...
NEWSMILL_DAEMON_WORKER_MAX_CRAWLS = 1000
# ... or once it and its extraction workers use more than this many MB of resident memory
# (0: no ceiling). It takes no new crawl and exits when its running crawls have ended.
NEWSMILL_DAEMON_WORKER_MAX_MEMORY = 1024

# --- across machines on Redis (`newsmill daemon|worker|store --redis URL`; README) ---------
# The Redis server (redis://host:6379/0); set by --redis or the NEWSMILL_REDIS_URL variable.
NEWSMILL_REDIS_URL = None
# Every key newsmill keeps in Redis starts with this (several stores can share one Redis).
NEWSMILL_REDIS_PREFIX = "newsmill:"
# Seconds a task taken by a worker may go without the worker's word before another worker
# takes it over (the worker died, or its machine is gone). A live worker keeps its tasks on
# every heartbeat, so this can be short; each takeover crawls the source again.
NEWSMILL_REDIS_VISIBILITY = 60.0
# Seconds between a worker's heartbeats (what `newsmill status` shows as last seen).
NEWSMILL_REDIS_HEARTBEAT = 5.0
# A task taken this many times without its crawl closing (it kills its workers) is given up:
# its run is recorded as failed, and the daemon backs the source off as for any failure.
NEWSMILL_REDIS_MAX_DELIVERIES = 3
# Seconds a worker's crawl waits for the writer to answer a look-up (is this URL known?)
# before it treats the URL as unknown (and stops asking for 30 s).
NEWSMILL_REDIS_LOOKUP_TIMEOUT = 2.0
# Seconds a worker or writer that read from Redis may stay silent, with nothing pending,
# before the writer deletes it from its consumer group (it retired or died; see
# RedisLink.forget_gone_consumers). Checked every ten minutes (or a sixth of this).
NEWSMILL_REDIS_FORGET_AFTER = 3600.0
# At most one request start per host every this many seconds, across all workers (see
# crawler/shared_politeness.py); unset (-1): DOWNLOAD_DELAY. 0: only Scrapy's own delays.
NEWSMILL_REDIS_HOST_DELAY = -1
