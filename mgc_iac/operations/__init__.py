"""One function per user operation over a workspace: what the CLI (and the Python API) calls."""
