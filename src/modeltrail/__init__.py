"""modeltrail: metadata and lineage of the whole life of machine-learning models."""

__version__ = "0.1.0"
