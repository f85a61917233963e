"""Downloader middlewares of wirewatch."""
