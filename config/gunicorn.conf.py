"""gunicorn settings: ``gunicorn -c config/gunicorn.conf.py`` (``make run`` uses it).

From the environment: ``IDP_BIND`` (default ``127.0.0.1:$PORT``, ``PORT`` default 5000),
``IDP_WORKERS`` (default 2). Each worker is a process with one request at a time, whose
connections are kept alive between requests (:class:`idp.serving.KeepAliveWorker`): on a
machine of N cores, 2N workers keep the cores busy while others wait for PostgreSQL.

``preload_app``: the master imports the application once and forks the workers from
it, so the code and what create_app builds are shared pages of memory instead of one
copy per worker (README, "gunicorn", has the figures). What must not be shared across
a fork is dealt with in :func:`post_fork`: the database connection pool. Nothing in
the application starts a thread at import (the job queue runs in ``idp worker``), and
every per-process cache (discovery, JWKS, signing keys) is filled on first use, after
the fork.
"""

import ctypes
import gc
import os

wsgi_app = "wsgi:app"
bind = [os.environ.get("IDP_BIND") or f"127.0.0.1:{os.environ.get('PORT') or 5000}"]
workers = int(os.environ.get("IDP_WORKERS") or 2)
worker_class = "idp.serving.KeepAliveWorker"
preload_app = True

# A request that runs longer than this is stuck (a login costs ~0.1 s, a code sent through
# Vonage a few seconds at most): the master kills and replaces its worker.
timeout = 30
# On SIGTERM (a deployment), workers finish the requests they have within this time.
graceful_timeout = 20
# How long an idle kept-alive connection stays open: longer than a proxy keeps its idle
# connections to us (nginx's upstream keepalive_timeout and AWS load balancers: 60 s), so
# that we never close one just as the proxy sends a request on it (a 502 for a POST).
keepalive = 75
# Connections a worker holds at once, idle ones included: well under the usual limit of
# 1024 open files (each also needs its database connections and logs); a worker at its
# limit stops accepting and leaves new connections to the others.
worker_connections = 250
# The workers' heartbeat files: in memory where the system offers it, not on a disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# The access log, on stdout unless IDP_ACCESS_LOG names a file, or says "off" where the
# load balancer keeps that log already: gunicorn formats each line in the worker, a
# fifth of the CPU of a small answer (a trivial application: 3,400-3,600 answers a
# second with the log written to /dev/null, 4,200-4,900 without it).
accesslog = None if os.environ.get("IDP_ACCESS_LOG", "-") == "off" else os.environ.get("IDP_ACCESS_LOG", "-")
# The common log format, then the request id that the audit trail and the logs carry.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s'
# gunicorn 25+ opens a control socket in the home folder by default: nothing here uses it.
control_socket_disable = True


def _return_large_buffers_to_the_system() -> None:
    """argon2id borrows ~7 MiB for each password hashed (a password set or changed; a
    check through libsodium maps its own, idp.passwords). glibc's malloc serves blocks
    that large by mmap and gives them back on free, but after the first such free it
    raises its threshold and keeps the next ones on the heap: every worker would then hold
    ~7 MiB more for good. A fixed threshold (which the workers inherit) keeps giving
    them back."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    m_mmap_threshold = -3
    libc.mallopt(m_mmap_threshold, 128 * 1024)


_return_large_buffers_to_the_system()


def when_ready(server):
    """The application is loaded in the master (preload_app): move what it allocated out
    of the collector's reach, so that the workers' collections do not touch, and so copy,
    the pages they share with the master."""
    gc.collect()
    gc.freeze()


def post_fork(server, worker):
    """Each worker opens its own database connections.

    With ``preload_app`` the engine was built in the master; a connection made there
    (none is, by design, but a future import might) would be shared by every worker,
    their queries interleaved on one socket. ``dispose(close=False)`` gives this process
    a new, empty pool and leaves the parent's connections to the parent (SQLAlchemy,
    "Using Connection Pools with Multiprocessing or os.fork()")."""
    if not server.cfg.preload_app:
        return
    from idp.extensions import db
    from wsgi import app

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


def on_starting(server):
    """Metrics: give the workers one folder for their values (idp.metrics, multiprocess mode)."""
    from idp.metrics import gunicorn_on_starting

    gunicorn_on_starting(server)


def child_exit(server, worker):
    """Metrics: forget a dead worker's live gauges (idp.metrics)."""
    from idp.metrics import gunicorn_child_exit

    gunicorn_child_exit(server, worker)
