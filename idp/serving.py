"""The gunicorn worker that ``config/gunicorn.conf.py`` names: kept-alive connections,
one request at a time in the worker's own thread.

gunicorn's sync worker closes every connection after its answer: each request of a
client that would reuse its connection (a load balancer's pool, a relying party's HTTP
client, a browser) pays a TCP connection's set-up and graceful teardown on both sides.
gunicorn's threaded worker (``gthread``) keeps connections alive, but hands each request
to a thread pool and its outcome back to the event loop through a pipe: two thread
switches and a wake-up a request, which cost as much as the connections they save.

:class:`KeepAliveWorker` is ``gthread``'s event loop (idle and new connections wait in
its selector, holding nothing: an idle one up to ``keepalive`` seconds, a new one up to
:attr:`~KeepAliveWorker.first_bytes_wait`) with its one thread inline:
a connection with a request ready is answered in the loop itself, one request at a
time, as the sync worker answers. What the sync worker does not do, it does not do
either: a client that stops halfway through sending its request holds the worker until
gunicorn's ``timeout`` (behind a buffering proxy, as gunicorn advises for the sync
worker, requests arrive whole). ``make bench`` measures the difference (README,
"Benchmark").
"""

from __future__ import annotations

import errno
import selectors
import socket
import time
from concurrent.futures import Future
from functools import partial
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker


class _NoThreads:
    """The thread pool ``gthread`` would start: none here (requests run in the loop)."""

    def shutdown(self, wait: bool = True, **kwargs: Any) -> None:
        return None


class KeepAliveWorker(ThreadWorker):
    """gunicorn's ``gthread`` worker answering in its event loop's thread (see module)."""

    # A connection's last request: its answer says "Connection: close" and the client
    # opens another, which the least busy worker accepts first (an idle one waits on the
    # listening socket, a busy one does not). Connections kept for good would stay
    # wherever they were first accepted, however unevenly (nginx and Apache cap them too).
    max_requests_per_connection = 100
    # How long a new connection may take to send its first bytes (gthread waits as long
    # as a kept-alive connection may idle, ``keepalive``, which a proxy needs long).
    first_bytes_wait = 5.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._answering = False

    def handle_request(self, req: Any, conn: TConn) -> bool:
        if req.req_number >= self.max_requests_per_connection:
            req.force_close()
        return bool(super().handle_request(req, conn))

    def get_thread_pool(self) -> Any:
        return _NoThreads()

    def accept(self, listener: socket.socket) -> None:
        """A new connection: answered now if its request is already here, else it waits
        in the selector for its first bytes (never blocking the loop)."""
        try:
            client, address = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client, address, listener.getsockname())  # non-blocking
        # Answered only once readable, so gthread's wait for data is not needed, and handle()
        # never returns its _DEFER (which would park the connection for ``keepalive``).
        conn.data_ready = True
        try:
            ready = bool(client.recv(1, socket.MSG_PEEK))
        except BlockingIOError:
            ready = False
        except OSError:
            ready = True  # reset meanwhile: handle() meets the error and closes
        if ready:
            self.enqueue_req(conn)
            return
        conn.timeout = time.monotonic() + self.first_bytes_wait
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn))

    def enqueue_req(self, conn: TConn) -> None:
        """Answer the connection's request now, then keep or close the connection as
        ``gthread`` would (:meth:`finish_request`). A request that arrived pipelined
        behind this one is answered on the loop's next turn, not by recursion."""
        if self._answering:
            self.method_queue.defer(self.enqueue_req, conn)
            return
        # The heartbeat for each request, as the sync worker gives it: gthread's loop gives
        # one a turn, and a turn here answers every connection that was ready, one after
        # the other; a few slow ones would add up past ``timeout`` and get the worker killed.
        self.notify()
        self._answering = True
        try:
            outcome: Future[Any] = Future()
            try:
                outcome.set_result(self.handle(conn))
            except Exception as exc:  # as a thread's future would hold it; finish_request closes
                outcome.set_exception(exc)
            if conn.sock.fileno() == -1:
                # handle() closed it already (an error after the answer began, a TLS end):
                # counted off once here, where finish_request would fail to close it again
                # and count it off twice.
                self.nr_conns -= 1
                return
            self.finish_request(conn, outcome)
        finally:
            self._answering = False

    def _cap_keepalive(self, deadline: float) -> None:
        """On stopping: kept-alive connections (gthread caps those) and new connections
        still silent close by ``deadline``, never holding the stop for their full wait."""
        super()._cap_keepalive(deadline)
        for conn in self.pending_conns:
            conn.timeout = min(conn.timeout, deadline)
