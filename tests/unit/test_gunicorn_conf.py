"""config/gunicorn.conf.py: bind and workers from the environment, the application
preloaded, and each worker with a database pool of its own."""

import runpy
import sys
from pathlib import Path

import pytest
from gunicorn.util import load_class
from gunicorn.workers.base import Worker

CONF = Path(__file__).resolve().parents[2] / "config" / "gunicorn.conf.py"


def _settings(monkeypatch, **environ):
    for name in ("IDP_BIND", "IDP_WORKERS", "PORT", "IDP_ACCESS_LOG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def test_defaults_serve_loopback_on_port_5000_with_two_preloaded_workers(monkeypatch):
    conf = _settings(monkeypatch)
    assert conf["bind"] == ["127.0.0.1:5000"] and conf["workers"] == 2
    assert conf["preload_app"] is True and conf["control_socket_disable"] is True
    assert conf["accesslog"] == "-" and conf["wsgi_app"] == "wsgi:app"
    assert 0 < conf["graceful_timeout"] <= conf["timeout"]
    # Connections kept alive (tests/live/test_serving.py), idle ones closed after a while.
    assert conf["worker_class"] == "idp.serving.KeepAliveWorker" and conf["keepalive"] > 60  # proxies' 60 s
    assert 0 < conf["worker_connections"] < 1024
    assert issubclass(load_class(conf["worker_class"]), Worker)


@pytest.mark.parametrize("value, accesslog", [("/var/log/idp/access.log", "/var/log/idp/access.log"), ("off", None)])
def test_the_access_log_goes_where_the_environment_says(monkeypatch, value, accesslog):
    assert _settings(monkeypatch, IDP_ACCESS_LOG=value)["accesslog"] == accesslog


@pytest.mark.parametrize("environ, bind, workers", [
    ({"PORT": "5050"}, "127.0.0.1:5050", 2),
    ({"IDP_BIND": "0.0.0.0:8000", "PORT": "5050", "IDP_WORKERS": "4"}, "0.0.0.0:8000", 4),
])
def test_bind_and_workers_come_from_the_environment(monkeypatch, environ, bind, workers):
    conf = _settings(monkeypatch, **environ)
    assert conf["bind"] == [bind] and conf["workers"] == workers


def test_post_fork_gives_the_worker_a_new_pool_and_leaves_the_parents_connections_open(monkeypatch, tmp_path):
    conf = _settings(monkeypatch)
    from idp.extensions import db

    (tmp_path / "overlay.yaml").write_text(
        f"instance_path: {tmp_path}\ndatabase_url: sqlite:///{tmp_path / 'idp.sqlite3'}\n", encoding="utf-8")
    monkeypatch.setenv("IDP_CONFIG", str(tmp_path / "overlay.yaml"))
    monkeypatch.delitem(sys.modules, "wsgi", raising=False)
    try:
        import wsgi

        with wsgi.app.app_context():
            engine = db.engine
            with engine.connect() as parent:  # a connection the master made, back in its pool
                raw = parent.connection.dbapi_connection
            pool_before = engine.pool

        class Server:
            class cfg:
                preload_app = True

        conf["post_fork"](Server, None)
        assert engine.pool is not pool_before  # the worker starts with an empty pool of its own
        assert raw.execute("select 1").fetchone() == (1,)  # the master's connection is not closed
        raw.close()
    finally:
        sys.modules.pop("wsgi", None)
