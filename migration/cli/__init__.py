"""The `cutover` command line."""
