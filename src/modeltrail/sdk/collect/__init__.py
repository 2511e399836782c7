"""What the SDK finds out by itself (FR9). One small module per source of metadata.

- ``executable``: the script or function, its source hash, git repository, commit, dirty tree
- ``environment``: Python, platform, host, user, versions of the ML packages imported
- ``trigger``: why the run started, from ``MODELTRAIL_TRIGGER``, Argo or CI variables
- ``files``: size and streaming content hash of files and directories (cached)
- ``frames``: pandas DataFrames and NumPy arrays
- ``sklearn``: scikit-learn estimators
- ``torch``: PyTorch modules (only if torch is installed)

Every collector returns plain JSON values and never raises for a value it does not know:
collecting metadata must never break the pipeline it describes.
"""
