"""The local stack and the operators' command line."""
