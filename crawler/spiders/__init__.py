"""The spiders of wirewatch."""
