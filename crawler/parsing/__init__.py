"""Pure parsers: bytes in, entries or links out. No Scrapy, no network, no clock."""
