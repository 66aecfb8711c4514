"""Bad configuration: one clear message, exit status 2, nothing started.

A sources file with a syntax error, unknown keys, a schedule that can never fire, a host
name that can never resolve, a scheme newsmill does not fetch: each stops `newsmill
crawl` before anything happens (no database is created), with one line naming the file,
the source and the key.
"""

import pytest

from crawler.sources import load_sources


def source(extra: str = "", url: str = "http://127.0.0.1/") -> str:
    return f"[[sources]]\nname = 'a'\nurls = ['{url}']\n{extra}"


BAD_SOURCES = {
    # syntax and structure
    "toml syntax error": ("[[sources]\nname = 'a'\n", ["TOML syntax error", "line 1"]),
    "unknown key": (source("folow = ['x']\n"), ["source 'a'", "'folow'", "unknown key"]),
    "unknown key in defaults": ("[defaults]\nevry = '1h'\n" + source(), ["[defaults]", "'evry'"]),
    "unknown top-level key": ("[source]\nname = 'a'\n", ["unknown top-level key 'source'"]),
    "missing name": ("[[sources]]\nurls = ['http://127.0.0.1/']\n", ["sources entry #1", "'name'"]),
    "duplicate name": (source() + source(url="http://127.0.0.1/x"), ["source 'a'", "duplicate"]),
    "bad regex": (source("follow = ['(unclosed']\n"), ["source 'a'", "'follow'", "(unclosed"]),
    # schedules
    "bad interval": (source("every = 'often'\n"), ["source 'a'", "'every'", "often"]),
    "bad cron field": (source("cron = '61 * * * *'\n"), ["source 'a'", "'cron'"]),
    "cron on 31 February": (source("cron = '0 0 31 2 *'\n"),
                            ["source 'a'", "'cron'", "'0 0 31 2 *' never fires"]),
    "cron on 31 April": (source("cron = '30 6 31 4 *'\n"), ["'cron'", "never fires"]),
    "unknown time zone": (source("cron = '0 6 * * *'\ntimezone = 'Mars/Olympus'\n"),
                          ["'timezone'", "Mars/Olympus"]),
    # schemes
    "file scheme": (source(url="file:///etc/passwd"), ["'urls'", "file:///etc/passwd", "not an http(s) URL"]),
    "ftp scheme": (source(url="ftp://ftp.example.org/news/"), ["'urls'", "ftp://", "not an http(s) URL"]),
    "no scheme": (source(url="www.example.org/news"), ["'urls'", "not an http(s) URL"]),
    # host names that can never be reached
    "space in host": (source(url="http://exa mple.org/"), ["'urls'", "label 'exa mple'"]),
    "empty label": (source(url="http://news..example.org/"), ["'urls'", "empty label"]),
    "label over 63": (source(url=f"http://{'a' * 64}.example.org/"),
                      ["'urls'", "longer than 63 characters"]),
    "host over 253": (source(url=f"http://{'abcdefghi.' * 26}org/"),
                      ["'urls'", "longer than 253 characters"]),
    "hyphen first": (source(url="http://-news.example.org/"), ["'urls'", "label '-news'"]),
    "bad ipv4": (source(url="http://300.1.2.3/"), ["'urls'", "'300.1.2.3' is not an IPv4 address"]),
    "short ipv4": (source(url="http://10.1.2/"), ["'urls'", "'10.1.2' is not an IPv4 address"]),
    "bad ipv6": (source(url="http://[fe80::zz]/"), ["'urls'", "not a valid URL"]),
    "bad port": (source(url="http://127.0.0.1:99999/"), ["'urls'", "Port out of range"]),
    "bad extra host": (source("hosts = ['cdn..example.org']\n"), ["'hosts'", "empty label"]),
}


@pytest.mark.parametrize("text,expected", BAD_SOURCES.values(), ids=BAD_SOURCES.keys())
def test_bad_sources_file_stops_with_one_clear_message(newsmill, text, expected):
    result = newsmill.crawl(sources=text)
    assert result.returncode == 2
    message = result.stderr.strip()
    assert message.startswith("newsmill: ") and str(newsmill.tmp / "sources.toml") in message
    for part in expected:
        assert part in message
    assert "Traceback" not in result.stderr
    assert len(message.splitlines()) == 1
    assert not newsmill.db_path.exists()  # nothing ran


@pytest.mark.parametrize("url,why", [
    ("ftp://ftp.example.org/a.html", "is not an http(s) URL"),
    ("http://bad host/a.html", "has an impossible host name: label 'bad host' may only hold "
                               "letters, digits and '-' (not first or last)"),
])
def test_bad_url_on_the_command_line_stops_with_one_clear_message(newsmill, url, why):
    result = newsmill.crawl(url)
    assert result.returncode == 2
    assert result.stderr.strip() == f"newsmill: command line: key 'urls': {url!r} {why}"
    assert not newsmill.db_path.exists()


def test_bad_url_in_a_list_of_urls_names_the_file(newsmill):
    urls = newsmill.tmp / "urls.txt"
    urls.write_text("http://127.0.0.1/ok.html\nfile:///etc/shadow\n")
    result = newsmill.crawl("--sources", str(urls))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"newsmill: {urls}: source 'urls': key 'urls': "
                                     "'file:///etc/shadow' is not an http(s) URL")
    assert not newsmill.db_path.exists()


def test_names_that_look_odd_but_can_resolve_are_accepted(tmp_path):
    """International names, underscores, a trailing dot, IPv6: valid; DNS decides later.

    (Loaded, not crawled: resolving them would leave this machine.)
    """
    urls = ["http://bücher.example/x", "http://my_host.example/y", "http://example.org./z",
            "http://[::1]:9/w", "https://10.0.0.1/v"]
    path = tmp_path / "sources.toml"
    path.write_text(source(url=urls[0]) + "hosts = ['cdn.bücher.example']\n"
                    + "[[sources]]\nname = 'b'\nurls = [" + ", ".join(f"'{u}'" for u in urls[1:]) + "]\n")
    loaded = load_sources(path)
    assert [u for s in loaded for u in s.urls] == urls
