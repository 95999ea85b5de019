"""Text frames written straight to daphne's transport parse as a client parses them."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from internals.writepath import WritePressure, WriteThroughServer, text_frame

# RFC 6455 5.2: a payload of up to 125 bytes has its length in the second byte; 126 says
# a 16-bit length follows (up to 65535 bytes), 127 a 64-bit one.
HEADERS = [
    (0, b"\x81\x00"),
    (1, b"\x81\x01"),
    (125, b"\x81\x7d"),
    (126, b"\x81\x7e\x00\x7e"),
    (65_535, b"\x81\x7e\xff\xff"),
    (65_536, b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
    (200_000, b"\x81\x7f\x00\x00\x00\x00\x00\x03\x0d\x40"),
]


def utf8_of_size(size: int) -> bytes:
    """``size`` bytes of UTF-8, mostly two-byte characters (so bytes are not characters)."""
    payload = ("é" * (size // 2) + "x" * (size % 2)).encode()
    assert len(payload) == size
    return payload


def parse_one(data: bytes) -> Frame:
    """The one frame ``data`` holds, as a client parses it; nothing may be left over."""
    reader = StreamReader()
    reader.feed_data(data)
    parser = Frame.parse(reader.read_exact, mask=False)
    with pytest.raises(StopIteration) as done:
        next(parser)
    assert not reader.buffer
    return done.value.value  # type: ignore[no-any-return]


@pytest.mark.parametrize(("size", "header"), HEADERS, ids=[str(s) for s, _ in HEADERS])
def test_text_frame_has_the_shortest_length_header_and_parses_as_one_text_frame(
    size: int, header: bytes
) -> None:
    payload = utf8_of_size(size)
    data = text_frame(payload)
    assert data == header + payload
    frame = parse_one(data)
    assert (frame.opcode, frame.fin, frame.rsv1, frame.data) == (Opcode.TEXT, True, False, payload)


class Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)


def open_protocol(transport: Transport) -> Any:
    """The attributes of an open autobahn server protocol that ``write_text`` reads."""
    return SimpleNamespace(
        state=3,
        STATE_OPEN=3,
        _perMessageCompress=None,
        autoFragmentSize=0,
        maskServerFrames=False,
        logFrames=False,
        trackedTimings=None,
        maxMessagePayloadSize=1024 * 1024,
        transport=transport,
    )


@pytest.mark.parametrize(("size", "header"), HEADERS[2:], ids=[str(s) for s, _ in HEADERS[2:]])
def test_write_text_frames_the_utf8_length_of_the_json_text(size: int, header: bytes) -> None:
    # A whole graphql-transport-ws frame, its JSON text padded with two-byte characters:
    # the length in the header is of the UTF-8 bytes, not of the characters.
    envelope = json.dumps({"type": "next", "id": "1", "payload": ""}, ensure_ascii=False)
    overhead = len(envelope.encode())
    text = json.dumps(
        {"type": "next", "id": "1", "payload": utf8_of_size(size - overhead).decode()},
        ensure_ascii=False,
    )
    assert len(text.encode()) == size
    transport = Transport()
    assert WritePressure(open_protocol(transport)).write_text(text)
    assert transport.written == [header + text.encode()]
    assert bytes(parse_one(transport.written[0]).data).decode() == text


class _Socket:
    def __init__(self, takes: int) -> None:
        self.takes = takes
        self.sent: list[bytes] = []

    def send(self, data: bytes) -> int:
        self.sent.append(data[: self.takes])
        return min(len(data), self.takes)


def _server(takes: int) -> Any:
    """A WriteThroughServer on a fake socket that takes ``takes`` bytes a send, with
    Twisted's reactor registration replaced by a flag."""
    server: Any = WriteThroughServer.__new__(WriteThroughServer)
    server.__dict__.update(
        connected=True, disconnecting=False, _writeDisconnected=False, TLS=False, offset=0,
        dataBuffer=b"", _tempDataBuffer=[], _tempDataLen=0, producer=None,
        socket=_Socket(takes), writing=False,
    )  # fmt: skip
    server.startWriting = lambda: server.__dict__.update(writing=True)
    return server


def test_a_written_sequence_goes_at_once_when_nothing_is_buffered() -> None:
    """twisted.web writes each chunk of a chunked response (an HTTP stream's event) as
    [size line, data, CRLF]: one send, no wait for the reactor's next pass."""
    server = _server(takes=1_000)
    server.writeSequence([b"5\r\n", b"hello", b"\r\n"])
    assert (server.socket.sent, server.writing) == ([b"5\r\nhello\r\n"], False)


def test_what_the_kernel_does_not_take_or_follows_buffered_data_is_buffered_in_order() -> None:
    server = _server(takes=4)
    server.writeSequence([b"5\r\n", b"hello", b"\r\n"])
    assert (server.socket.sent, server.writing) == ([b"5\r\nh"], True)
    assert server._tempDataBuffer == [b"ello\r\n"]
    # Something is buffered: the next sequence queues behind it, untouched.
    server.writeSequence([b"1\r\n", b"!", b"\r\n"])
    assert server.socket.sent == [b"5\r\nh"]
    assert server._tempDataBuffer == [b"ello\r\n", b"1\r\n", b"!", b"\r\n"]
