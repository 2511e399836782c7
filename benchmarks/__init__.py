"""Benchmarks: modeltrail side by side with ML Metadata and MLflow on one generated workload."""
