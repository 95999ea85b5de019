"""graphql-transport-ws close reasons through a real daphne (which drops the ASGI close
reason; internals/daphne.py's ``daphne.close_reason`` hook carries it). Apart from
tests/schema/test_ws_conformance.py, which also runs in the embedded run: daphne processes
need Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from websockets.typing import Subprotocol

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.mark.slow
async def test_daphne_carries_the_close_reason(quiet_daphnes: tuple[Any, ...]) -> None:
    # PROTOCOL.md: "The server can close the socket (kick the client off) at any time. The
    # close event dispatched by the server is used to describe the fatal error to the
    # client." daphne drops the ASGI close reason; ours reaches the client.
    daphne = quiet_daphnes[0]
    async with websockets.connect(
        daphne.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv()) == {"type": "connection_ack"}
        frame = {"id": "1", "type": "subscribe", "payload": {"query": 5}}
        await ws.send(json.dumps(frame))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
        4400,
        "Invalid subscribe message: payload.query must be a string, not a number.",
    )
