"""wirewatch: collect news from many sources and flag the stories about the subjects you follow."""

__version__ = "0.1.0"
