"""Pingback, TrackBack (and later Webmention) for Django sites."""

__version__ = "0.1.0"
