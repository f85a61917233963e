"""Scrapy settings of wirewatch: only what differs from Scrapy's defaults, and why.

Per-source politeness (delay, concurrency, timeout, User-Agent, robots.txt) comes from
``config.yaml`` and is applied by :mod:`crawler.runner` on top of these.
"""

from scrapy.settings import default_settings

from crawler.urlpolicy import MAX_LENGTH

BOT_NAME = "wirewatch"
SPIDER_MODULES = ["crawler.spiders"]

ROBOTSTXT_OBEY = True  # a source may opt out with obey_robots: false
COOKIES_ENABLED = False  # feeds and articles need no session, and cookies cost time
TELNETCONSOLE_ENABLED = False  # a crawl child must not open a port
REMOTE_CONTROL_ENABLED = False  # nor Scrapy 2.19's code-running HTTP server, on by default
CONCURRENT_REQUESTS = 64  # many hosts at once; each host is limited by its download slot
# Holds each slot's concurrency under the asyncio reactor, which Scrapy 2.19's does not.
DOWNLOADER = "crawler.downloader.SlotHoldingDownloader"
CONCURRENT_ITEMS = 1  # the default starts ~100 tasks per response and is slower here
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024  # no feed or article is bigger; the default is 1 GiB
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
DNS_TIMEOUT = 15
RETRY_TIMES = 1  # the next cycle polls again; more retries only delay this one
# Scrapy's list without DownloadTimeoutError: a source's timeout bounds how long it may hold
# a crawl, and retrying a server that did not answer in time only doubled that.
RETRY_EXCEPTIONS = [
    "scrapy.exceptions.CannotResolveHostError",
    "scrapy.exceptions.DownloadConnectionRefusedError",
    "scrapy.exceptions.DownloadFailedError",
    "scrapy.exceptions.ResponseDataLossError",
    "twisted.internet.error.ConnectionDone",
    "twisted.internet.error.ConnectError",
    "twisted.internet.error.ConnectionLost",
    OSError,  # raised by HttpCompressionMiddleware for an empty compressed body
    "scrapy.core.downloader.handlers.http11.TunnelError",
]
REDIRECT_MAX_TIMES = 5
# Scrapy fetches file:, data:, ftp: and s3: URLs out of the box: a feed item linking to
# file:/etc/passwd put that file in the archive. Only http and https have a handler here;
# crawler.urlpolicy and the link policy middleware refuse the rest before they get here.
DOWNLOAD_HANDLERS = {"file": None, "data": None, "ftp": None, "s3": None}
URLLENGTH_LIMIT = MAX_LENGTH  # the spider counts longer links instead of scheduling them
LOG_LEVEL = "WARNING"
DOWNLOADER_MIDDLEWARES = {
    # First: no request, robots.txt or redirect outside its source's link policy.
    "crawler.middlewares.linkpolicy.LinkPolicyMiddleware": 40,
    # Before the robots.txt middleware (100), so its headers are on every source request.
    "crawler.middlewares.conditional.ConditionalGetMiddleware": 90,
    # robots.txt within the source's timeout, and no fetching when it is unreachable.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.robots.RobotsMiddleware": 100,
}
EXTENSIONS = {
    "crawler.extensions.crawldelay.CrawlDelay": 500,
    "crawler.extensions.diskfull.StopWhenDiskFull": 500,
}
ITEM_PIPELINES = {
    "crawler.pipelines.dedupe.DedupePipeline": 100,
    "crawler.pipelines.match.MatchPipeline": 200,
    "crawler.pipelines.archive.ArchivePipeline": 300,
}

# Scrapy imports every component it lists, even one that is switched off and then declines
# to run, and naming one None in EXTENSIONS imports it too (to match its key). These do
# nothing in a crawl of wirewatch, so they are left out of Scrapy's own lists: no console or
# control server may open a port (the remote control alone loads aiohttp, about 220 ms of
# each crawl child's start), no feed export, no job directory, no throttle; memory is capped
# by crawl.memory_mb (crawler.__main__), not polled; cookies are off, and their middleware
# loads tldextract and requests (about 130 ms). Whatever else a later Scrapy lists is kept.
_UNUSED = {
    "scrapy.extensions.closespider.CloseSpider",
    "scrapy.extensions.feedexport.FeedExporter",
    "scrapy.extensions.memdebug.MemoryDebugger",
    "scrapy.extensions.memusage.MemoryUsage",
    "scrapy.extensions.remote_control.RemoteControl",
    "scrapy.extensions.spiderstate.SpiderState",
    "scrapy.extensions.telnet.TelnetConsole",
    "scrapy.extensions.throttle.AutoThrottle",
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware",
    "scrapy.downloadermiddlewares.httpcache.HttpCacheMiddleware",
}
EXTENSIONS_BASE = {
    path: order for path, order in default_settings.EXTENSIONS_BASE.items() if path not in _UNUSED
}
DOWNLOADER_MIDDLEWARES_BASE = {
    path: order
    for path, order in default_settings.DOWNLOADER_MIDDLEWARES_BASE.items()
    if path not in _UNUSED
}
