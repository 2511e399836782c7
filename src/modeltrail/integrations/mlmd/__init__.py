"""ML Metadata in: ``modeltrail import mlmd`` reads a Kubeflow Pipelines or TFX metadata store."""
