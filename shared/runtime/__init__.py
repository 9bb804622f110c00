"""Plumbing written once for all four services: store, relay, consume loop, HTTP app."""
