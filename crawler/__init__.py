"""The Scrapy project of wirewatch: fetch sources, read feeds, extract articles, archive them."""
