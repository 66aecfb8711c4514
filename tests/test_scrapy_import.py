"""Scrapy's download handler, imported at less cost (crawler/runner.py), is Scrapy's own:
its deprecated aliases name their modules and warn as Scrapy made them, and the process's
`inspect` is left as it was."""

import subprocess
import sys

from tests.conftest import ROOT

CHECK = """
import inspect, warnings
stack, getmodule = inspect.stack, inspect.getmodule
from crawler.runner import HTTP11DownloadHandler
from crawler.worker import StoppableDownloadHandler
import scrapy.core.downloader.contextfactory as contextfactory
import scrapy.core.downloader.tls as tls
assert inspect.stack is stack and inspect.getmodule is getmodule
assert issubclass(StoppableDownloadHandler, HTTP11DownloadHandler)
assert HTTP11DownloadHandler.__module__ == "scrapy.core.downloader.handlers.http11"
assert tls.ScrapyClientTLSOptions.__module__ == "scrapy.core.downloader.tls"
assert contextfactory.ScrapyClientContextFactory.__module__ == "scrapy.core.downloader.contextfactory"
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    class Mine(contextfactory.ScrapyClientContextFactory):
        pass
assert any("ScrapyClientContextFactory is deprecated" in str(w.message) for w in caught), caught
"""


def test_the_download_handler_imported_cheaply_is_scrapys_and_leaves_inspect_alone():
    run = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
