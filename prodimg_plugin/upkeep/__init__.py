"""Catalogue upkeep: host-photo quality scores, backfills over whole catalogues, purging files nobody needs."""
