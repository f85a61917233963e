"""The matcher: topics of entities and rules, compiled once, that flag the articles about them."""
