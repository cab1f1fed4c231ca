"""A peer site built on the ``webmentions`` library (PyPI; Flask and SQLAlchemy), run as a process.

Its Webmention parts are the library's own: ``bind_webmentions`` mounts the receiver at
``/webmentions`` (which verifies the source before storing it in SQLite) and advertises it
with a relative ``Link`` header on every text page; ``GET /webmentions?resource=...&direction=``
is the library's read API on that store; ``POST /_send`` runs the library's sender on one of
this site's posts. What is ours is only the site around it: posts are the HTML files in
``WM_PEER_PAGES`` (written by the tests), served at ``/posts/<name>``.

    python -m tests.interop.webmention_flask_peer PORT    (WM_PEER_DB, WM_PEER_PAGES set)
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, Response, abort, jsonify, request
from sqlalchemy.orm import declarative_base, sessionmaker
from webmentions import WebmentionsHandler
from webmentions.server.adapters.flask import bind_webmentions
from webmentions.storage.adapters.db import DbWebmention, DbWebmentionsStorage

ENDPOINT = "/webmentions"


def storage(db: Path) -> DbWebmentionsStorage:
    """The library's SQLAlchemy store in SQLite, set up the way its docs show for own models.

    Not through its ``init_db_storage`` helper, only to let ``published`` be empty: its
    default model makes that column NOT NULL, but its receiver leaves it empty for a source
    with no ``dt-published`` or ``article:published_time`` (our example pages have neither),
    and its insert then fails with a 500 (webmentions 0.2.0).
    """
    base = declarative_base()

    class PeerWebmention(base, DbWebmention):  # type: ignore[misc,valid-type]
        __tablename__ = "webmentions"
        published = sa.Column(sa.DateTime, nullable=True)

    engine = sa.create_engine(f"sqlite:///{db}")
    base.metadata.create_all(engine)
    return DbWebmentionsStorage(
        engine=engine, model=PeerWebmention, session_factory=sessionmaker(bind=engine)
    )


def create_app(base_url: str, db: Path, pages: Path) -> Flask:
    """The peer's Flask application: its posts, the library's endpoint, a send trigger."""
    app = Flask(__name__)
    handler = WebmentionsHandler(
        storage=storage(db),
        base_url=base_url,
        # The library refuses loopback addresses by default, and every site here is on one.
        ssrf_protection=False,
        user_agent="webmentions-peer (tests/interop)",
    )
    bind_webmentions(app, handler, ENDPOINT)

    @app.get("/")
    def home() -> Response:
        return Response("<!DOCTYPE html><title>Peer</title><p>A webmentions peer.</p>")

    @app.get("/posts/<name>")
    def post(name: str) -> Response:
        path = pages / f"{name}.html"
        if not re.fullmatch(r"[a-z0-9-]+", name) or not path.is_file():
            abort(404)
        return Response(path.read_text(encoding="utf-8"), content_type="text/html; charset=utf-8")

    @app.post("/_send")
    def send() -> Response:
        # What a site using the library does on publishing: fetch the post, extract its
        # links, discover each one's endpoint and notify it (removed links included).
        source = request.form["source"]
        handler.process_outgoing_webmentions(source)
        return jsonify({"sent": source})

    return app


def main() -> None:
    """Serve the peer on 127.0.0.1:PORT until killed."""
    port = int(sys.argv[1])
    logging.basicConfig(level=logging.INFO)
    app = create_app(
        f"http://127.0.0.1:{port}",
        Path(os.environ["WM_PEER_DB"]),
        Path(os.environ["WM_PEER_PAGES"]),
    )
    # Threaded: while its sender waits on our site, our site fetches the post from it.
    app.run(host="127.0.0.1", port=port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
