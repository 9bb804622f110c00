"""`make bench`: the system measured side by side with baselines on this machine."""
