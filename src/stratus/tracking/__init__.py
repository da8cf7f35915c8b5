"""MLflow-compatible tracking: experiments (and, next, runs), independent of HTTP."""
