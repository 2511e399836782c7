"""MLflow's artifact proxy, served with the tracking API (``routes``)."""
