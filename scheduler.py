"""The newsmill daemon: runs each source's crawl on its own schedule.

Filled in by the daemon issue; a one-off crawl is `newsmill crawl`.
"""
