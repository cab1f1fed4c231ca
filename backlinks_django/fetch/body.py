"""Reading a response body in chunks, within the byte cap after decompression and the deadline."""

from __future__ import annotations

import zlib

from urllib3.response import BaseHTTPResponse

from backlinks_django.exceptions import ConnectionFailed, ResponseTooLarge
from backlinks_django.fetch.deadline import Deadline
from backlinks_django.fetch.transport import errors_translated

_CHUNK_SIZE = 16 * 1024


def read_body(
    response: BaseHTTPResponse, max_bytes: int, truncate: bool, deadline: Deadline
) -> tuple[bytes, bool]:
    """Read at most ``max_bytes`` decoded bytes (plus one to notice more); (body, truncated).

    More than ``max_bytes`` raises :class:`ResponseTooLarge`, unless ``truncate``.
    """
    decoder = _decoder_for(response.headers.get("Content-Encoding", ""))
    budget = max_bytes + 1
    # Compressed input that yields little output is bounded too (empty deflate blocks).
    wire_budget = budget if decoder is None else 2 * budget + 1024
    parts: list[bytes] = []
    size = wire = 0
    with errors_translated(deadline):
        while size < budget and wire < wire_budget:
            deadline.check()
            chunk = response.read(min(_CHUNK_SIZE, wire_budget - wire), decode_content=False)
            if not chunk:
                break
            wire += len(chunk)
            if decoder is not None:
                chunk = decoder.decode(chunk, budget - size)
            parts.append(chunk)
            size += len(chunk)
    content = b"".join(parts)
    over = size > max_bytes or wire >= wire_budget
    if over and not truncate:
        raise ResponseTooLarge(f"The response is larger than {max_bytes} bytes.")
    return content[:max_bytes], over


class _Decoder:
    """Incremental gzip/deflate decoding that never produces more than asked for."""

    def __init__(self, coding: str) -> None:
        self._deflate = coding == "deflate"
        self._started = False
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS if self._deflate else 16 + zlib.MAX_WBITS)

    def decode(self, data: bytes, max_length: int) -> bytes:
        """At most ``max_length`` bytes decoded from ``data``; ConnectionFailed if corrupt."""
        try:
            return self._decode(data, max_length)
        except zlib.error as exc:
            raise ConnectionFailed("The response body could not be decompressed.") from exc

    def _decode(self, data: bytes, max_length: int) -> bytes:
        try:
            out = self._zlib.decompress(data, max_length)
        except zlib.error:
            # "deflate" is sometimes sent as a raw stream without the zlib wrapper.
            if not self._deflate or self._started:
                raise
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._zlib.decompress(data, max_length)
        self._started = True
        return out


def _decoder_for(content_encoding: str) -> _Decoder | None:
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return None
    if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
        return _Decoder("deflate" if codings[0] == "deflate" else "gzip")
    raise ConnectionFailed("The response uses an unsupported content encoding.")
