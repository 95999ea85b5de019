"""Hooks into Twisted's internals: write-through on TCP transports, the producer slot
of an upgraded HTTP connection and the producer of a streamed HTTP response
(internals/writepath.py), the content type of a POST read without the email package; the
HTTP read deadline is internals/readtimeout.py."""

from __future__ import annotations

import inspect
from typing import Any

from twisted.internet import abstract, tcp
from twisted.web import http

from internals.hooks import hook, hook_active

__all__ = ["HTTP_PRODUCER", "POST_CONTENT_TYPE", "UPGRADE_PRODUCER", "WRITE_THROUGH"]

WRITE_THROUGH = "twisted.write_through"
UPGRADE_PRODUCER = "twisted.upgrade_producer"
HTTP_PRODUCER = "twisted.http_producer"
POST_CONTENT_TYPE = "twisted.post_content_type"


def _source(obj: Any) -> str:
    return inspect.getsource(obj)


@hook(
    WRITE_THROUGH,
    library="Twisted",
    versions=">=24.7,<27",
    purpose="websocket frames and HTTP stream chunks written to the socket at once when "
    "nothing is buffered",
    fallback="Twisted's buffering (a write on the next reactor iteration)",
)
def _check_write_through() -> None:
    for name in ("dataBuffer", "offset", "_writeDisconnected", "TLS", "connected", "disconnecting"):
        if not hasattr(tcp.Server, name):
            raise AttributeError(f"twisted tcp.Server has no {name}")
    if "self._tempDataBuffer" not in _source(abstract.FileDescriptor.__init__):
        raise AttributeError("FileDescriptor no longer has _tempDataBuffer")
    if "self.socket" not in _source(tcp.Connection.__init__):
        raise AttributeError("tcp.Connection no longer keeps its socket")
    # WriteThroughServer replaces an instance's class: no slots may differ, and write()
    # must still be the one-argument method it overrides.
    if "__slots__" in vars(tcp.Server) or any(
        len(inspect.signature(method).parameters) != 2
        for method in (tcp.Server.write, tcp.Server.writeSequence)
    ):
        raise TypeError("tcp.Server's write, writeSequence or layout changed")


@hook(
    UPGRADE_PRODUCER,
    library="Twisted",
    versions=">=24.7,<27",
    purpose="write backpressure: our producer replaces the upgraded HTTP channel's",
    fallback="no backpressure: a client that stops reading is buffered without limit",
    required=True,
)
def _check_upgrade_producer() -> None:
    if not hasattr(abstract.FileDescriptor, "producer"):
        raise AttributeError("FileDescriptor has no producer")
    for name in ("registerProducer", "unregisterProducer"):
        if not callable(getattr(abstract.FileDescriptor, name, None)):
            raise AttributeError(f"FileDescriptor has no {name}")


# Twisted's Request.requestReceived parses the Content-Type of every POST with the email
# package (an EmailMessage and its header registry: about a fifth of the CPU of a small
# GraphQL POST) only to compare it with the two form types it decodes into request.args,
# which daphne never reads. The media type without its parameters, lowercased, compares
# the same.
_parse_content_type = http._parseContentType


def _content_type_key(line: bytes) -> bytes:
    if not hook_active(POST_CONTENT_TYPE):
        return _parse_content_type(line)
    return line.split(b";", 1)[0].strip().lower()


def _install_post_content_type() -> None:
    http._parseContentType = _content_type_key


@hook(
    POST_CONTENT_TYPE,
    library="Twisted",
    versions=">=24.7,<27",
    purpose="a POST's Content-Type compared with the form types without the email package",
    fallback="Twisted's _parseContentType (an EmailMessage per POST)",
    install=_install_post_content_type,
)
def _check_post_content_type() -> None:
    if not callable(getattr(http, "_parseContentType", None)):
        raise AttributeError("twisted.web.http has no _parseContentType")
    source = _source(http.Request.requestReceived)
    for part in ("key = _parseContentType(ctype)", 'key == b"application/x-www-form-urlencoded"'):
        if part not in source:
            raise TypeError(f"Request.requestReceived no longer has {part!r}")


@hook(
    HTTP_PRODUCER,
    library="Twisted",
    versions=">=24.7,<27",
    purpose="backpressure on streamed HTTP responses (SSE, multipart): our producer on "
    "daphne's request",
    fallback="no backpressure: a stream whose client stops reading is buffered without limit",
    required=True,
)
def _check_http_producer() -> None:
    from daphne.http_protocol import WebRequest
    from twisted.web.http import HTTPChannel, Request

    if not issubclass(WebRequest, Request):
        raise TypeError("daphne's WebRequest is no longer a twisted.web Request")
    # The channel is the transport's producer while it handles a request, and passes a
    # full buffer on to the producer its request registered.
    for method in ("pauseProducing", "resumeProducing"):
        if f"self._requestProducer.{method}()" not in _source(getattr(HTTPChannel, method)):
            raise TypeError(f"HTTPChannel.{method} no longer forwards to the request's producer")
    for name in ("registerProducer", "unregisterProducer"):
        if not callable(getattr(Request, name, None)):
            raise AttributeError(f"twisted.web Request has no {name}")
