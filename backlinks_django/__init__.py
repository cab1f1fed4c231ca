"""Pingback, TrackBack and Webmention for Django sites: receive, verify, moderate, send."""

__version__ = "0.1.0"
