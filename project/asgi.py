"""ASGI entry point: Django for HTTP, streamed subscriptions (SSE, multipart) at /graphql/,
the GraphQL websocket consumer for websockets."""

from __future__ import annotations

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django

# Django must be set up before anything imports models.
django.setup(set_prefix=False)

from internals.hooks import hooks_verify  # noqa: E402

# Library internals: each hook whose version and targets check out installs its patch or
# seam; the others log one warning and their feature runs its public path (internals/hooks.py).
# First: the middleware chain, loaded by the handler below, asks which are on.
hooks_verify()

from internals.asgihandler import ChatASGIHandler  # noqa: E402

django_asgi_app = ChatASGIHandler()

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from chat.logs import install_log_context  # noqa: E402
from internals.fastpaths.http import GraphQLHTTPFront  # noqa: E402
from internals.httpstream import StreamingFront  # noqa: E402
from internals.readtimeout import request_read_timeout_install  # noqa: E402
from internals.websocket import ChatWSConsumer  # noqa: E402
from project.connlimit import SocketsPerAddressLimit  # noqa: E402
from project.origin import AllowedHostsOrNoOriginValidator  # noqa: E402
from project.shutdown import DrainingHTTP, graceful_stop_install  # noqa: E402
from project.wsauth import SessionAuthRoute  # noqa: E402
from schema import schema  # noqa: E402

install_log_context()
# Under daphne: a deadline for reading each request (slowloris), see internals/readtimeout.py.
request_read_timeout_install(settings.CHAT["REQUEST_READ_TIMEOUT_SECONDS"])

# Everything loaded so far (Django, the schema, the libraries) lives as long as the process:
# keep it out of the cyclic GC's full collections, which otherwise walk all of it each time.
# The young-generation threshold stays at its default: raising it cost RSS per idle
# subscription.
gc.freeze()

sockets = SocketsPerAddressLimit(
    SessionAuthRoute("/graphql/", ChatWSConsumer.as_asgi(schema=schema))
)
# Under daphne: SIGTERM stops the process gracefully (project/shutdown.py).
graceful_stop_install(settings.CHAT["SHUTDOWN_SECONDS"])

application = ProtocolTypeRouter(
    {
        # Subscriptions over SSE and multipart HTTP (internals/httpstream.py) count
        # against the same per-address cap as websockets. They stay outside the drain,
        # which waits for requests in flight: a stream would hold it to the deadline.
        # Inside it, GraphQL POSTs a fast path serves, before Django
        # (internals/fastpaths/http.py).
        "http": StreamingFront(
            DrainingHTTP(GraphQLHTTPFront(django_asgi_app, schema=schema)), schema, sockets.open
        ),
        "websocket": AllowedHostsOrNoOriginValidator(sockets),
    }
)
