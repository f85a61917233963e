"""Item pipelines, in order: dedupe, match, archive."""
