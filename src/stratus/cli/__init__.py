"""The ``stratus`` command line, shaped like ``az ml``: each command is a thin call into the SDK."""
