"""The SPDY/3.1 framing kubectl's port-forward speaks (client-go through moby/spdystream).

No maintained SPDY library exists on PyPI (spdy-py, 2021, reads frames only), so this is the
minimum by hand: frames in and out of a byte stream, and the header blocks' zlib compression
with SPDY/3's preset dictionary (one compression context per direction for the connection).
kubectl 1.31+ carries these bytes inside a WebSocket (``SPDY/3.1+portforward.k8s.io``); older
ones over a raw ``Upgrade: SPDY/3.1`` connection. Frame layouts from the SPDY/3.1 draft:

- control: ``1|version(15)|type(16)``, ``flags(8)|length(24)``, then the type's fields;
- data: ``0|stream-id(31)``, ``flags(8)|length(24)``, then the payload.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
MAX_FRAME = 16 * 1024 * 1024 - 1  # 24 bits of length

# SPDY/3's header-compression dictionary (draft 3.1, section 2.6.10.1): these words, each with a
# 4-byte big-endian length, then the text below as it is.
_WORDS = ("options head post put delete trace accept accept-charset accept-encoding accept-language "
          "accept-ranges age allow authorization cache-control connection content-base content-encoding "
          "content-language content-length content-location content-md5 content-range content-type date etag "
          "expect expires from host if-match if-modified-since if-none-match if-range if-unmodified-since "
          "last-modified location max-forwards pragma proxy-authenticate proxy-authorization range referer "
          "retry-after server te trailer transfer-encoding upgrade user-agent vary via warning www-authenticate "
          "method get status").split() + ["200 OK"] + "version HTTP/1.1 url public set-cookie keep-alive origin".split()
_TAIL = (b"100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
         b"203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
         b"403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
         b"Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
         b"chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
         b"text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")
DICTIONARY = b"".join(struct.pack(">I", len(w)) + w.encode() for w in _WORDS) + _TAIL


class ProtocolError(Exception):
    """Bytes that are not SPDY/3 (the connection is closed)."""


@dataclass
class Frame:
    """One frame: ``type`` 0 for data; ``headers`` for SYN_STREAM/SYN_REPLY/HEADERS; ``value``
    is RST_STREAM/GOAWAY's status, PING's id, WINDOW_UPDATE's delta."""

    type: int
    stream: int
    flags: int = 0
    data: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    value: int = 0

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


class Framer:
    """Frames out of a byte stream (``feed``) and into bytes (``data``, ``syn_reply``...)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY,
                                         DICTIONARY)

    # -- reading --------------------------------------------------------------------------
    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= 8:
            first, flags_length = struct.unpack(">II", self._buffer[:8])
            flags, length = flags_length >> 24, flags_length & 0xFFFFFF
            if len(self._buffer) < 8 + length:
                break
            body = bytes(self._buffer[8:8 + length])
            del self._buffer[:8 + length]
            if first & 0x80000000:
                version, kind = (first >> 16) & 0x7FFF, first & 0xFFFF
                if version != VERSION:
                    raise ProtocolError(f"unsupported SPDY version {version}")
                frames.append(self._control(kind, flags, body))
            else:
                frames.append(Frame(0, first & 0x7FFFFFFF, flags, body))
        return frames

    def _control(self, kind: int, flags: int, body: bytes) -> Frame:
        try:
            if kind == SYN_STREAM:
                stream = struct.unpack(">I", body[:4])[0] & 0x7FFFFFFF
                return Frame(kind, stream, flags, headers=self._headers(body[10:]))
            if kind in (SYN_REPLY, HEADERS):
                stream = struct.unpack(">I", body[:4])[0] & 0x7FFFFFFF
                return Frame(kind, stream, flags, headers=self._headers(body[4:]))
            if kind in (RST_STREAM, GOAWAY, WINDOW_UPDATE):
                stream, value = struct.unpack(">II", body[:8])
                return Frame(kind, stream & 0x7FFFFFFF, flags, value=value & 0x7FFFFFFF)
            if kind == PING:
                return Frame(kind, 0, flags, value=struct.unpack(">I", body[:4])[0])
        except (struct.error, zlib.error, UnicodeDecodeError) as e:
            raise ProtocolError(f"malformed control frame {kind}: {e}") from None
        return Frame(kind, 0, flags, body)  # SETTINGS and the rest: nothing this server acts on

    def _headers(self, block: bytes) -> dict[str, str]:
        raw = self._inflate.decompress(block)
        count, at = struct.unpack(">I", raw[:4])[0], 4
        headers: dict[str, str] = {}
        for _ in range(count):
            (n,) = struct.unpack(">I", raw[at:at + 4])
            name = raw[at + 4:at + 4 + n].decode()
            at += 4 + n
            (n,) = struct.unpack(">I", raw[at:at + 4])
            headers[name] = raw[at + 4:at + 4 + n].decode()
            at += 4 + n
        return headers

    # -- writing --------------------------------------------------------------------------
    def _frame(self, kind: int, flags: int, body: bytes) -> bytes:
        return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(body)) + body

    def _block(self, headers: dict[str, str]) -> bytes:
        raw = struct.pack(">I", len(headers)) + b"".join(
            struct.pack(">I", len(k)) + k.lower().encode() + struct.pack(">I", len(v.encode())) + v.encode()
            for k, v in headers.items())
        return self._deflate.compress(raw) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    def syn_reply(self, stream: int, headers: dict[str, str] | None = None, fin: bool = False) -> bytes:
        return self._frame(SYN_REPLY, FLAG_FIN if fin else 0, struct.pack(">I", stream) + self._block(headers or {}))

    def syn_stream(self, stream: int, headers: dict[str, str], fin: bool = False) -> bytes:
        """A client's new stream (what a test plays as kubectl)."""
        body = struct.pack(">IIH", stream, 0, 0) + self._block(headers)
        return self._frame(SYN_STREAM, FLAG_FIN if fin else 0, body)

    def data(self, stream: int, payload: bytes = b"", fin: bool = False) -> bytes:
        out = b""
        while True:  # frames of at most 24 bits of length
            piece, payload = payload[:MAX_FRAME], payload[MAX_FRAME:]
            last = not payload
            out += struct.pack(">II", stream & 0x7FFFFFFF, ((FLAG_FIN if fin and last else 0) << 24) | len(piece)) + piece
            if last:
                return out

    def ping(self, ping_id: int) -> bytes:
        return self._frame(PING, 0, struct.pack(">I", ping_id))

    def rst_stream(self, stream: int, status: int) -> bytes:
        return self._frame(RST_STREAM, 0, struct.pack(">II", stream, status))

    def goaway(self, last_stream: int, status: int = 0) -> bytes:
        return self._frame(GOAWAY, 0, struct.pack(">II", last_stream, status))
