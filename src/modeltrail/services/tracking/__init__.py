"""Everyday experiment tracking: metric series and the lists built on their summaries."""
