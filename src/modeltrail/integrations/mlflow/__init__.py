"""MLflow: the tracking and registry API its client calls, an importer, a registry push."""
