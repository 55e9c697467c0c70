"""``/metrics`` under gunicorn with two workers (config/gunicorn.conf.py's hooks, idp.metrics):
each worker counts in its own files, and any worker's ``/metrics`` adds them all up."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import postgres_database
from tests.live.conftest import ROOT, LiveIdP

pytestmark = pytest.mark.live

GUNICORN_CONF = str(ROOT / "config" / "gunicorn.conf.py")


def tokens_counted(issuer: str) -> float:
    answer = requests.get(issuer + "/metrics", timeout=10)
    assert answer.status_code == 200
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name == "idp_tokens_issued_total" and sample.labels == {"grant_type": "client_credentials"}:
                return sample.value
    return 0.0


def tokens_by_process(folder: Path) -> dict[str, float]:
    """Each process's own count, read from its file as the collector reads it."""
    counts = {}
    for path in folder.glob("counter_*.db"):
        for metric in MultiProcessCollector.merge([str(path)], accumulate=False):
            for sample in metric.samples:
                if sample.name == "idp_tokens_issued_total" and sample.value:
                    counts[path.stem.split("_", 1)[1]] = sample.value
    return counts


def _folder_named_in(log: Path) -> Path:
    match = re.search(r"metrics: workers keep their values in (\S+)", log.read_text(encoding="utf-8"))
    assert match, "the master did not say where the workers' values go"
    return Path(match.group(1))


# Both ways gunicorn may run: PROMETHEUS_MULTIPROC_DIR set by the operator; or unset and a
# preloaded application, imported by the master before the hook chooses a folder.
@pytest.mark.parametrize("operator_folder", [True, False], ids=["operator-folder", "preloaded-temporary-folder"])
def test_every_workers_count_is_served_by_any_worker(tmp_path, operator_folder):
    env, stale = {}, tmp_path / "metrics" / "counter_999999.db"
    if operator_folder:
        stale.parent.mkdir()
        stale.write_bytes(b"left by a previous run")
        env["PROMETHEUS_MULTIPROC_DIR"] = str(stale.parent)
    with postgres_database() as url:
        idp = LiveIdP(tmp_path / "node", url, workers=2, env=env,
                      gunicorn_args=["-c", GUNICORN_CONF, *([] if operator_folder else ["--preload"])])
        idp.start()
        try:
            folder = _folder_named_in(idp.log_path)
            assert (folder == stale.parent and not stale.exists()) if operator_folder else folder.is_dir()
            client = idp.idp("clients", "create", "--name", "Batch", "--grant-type", "client_credentials",
                             "--scope", "peps")
            auth = (client["client_id"], client["client_secret"])

            def token(_: int) -> int:
                return requests.post(idp.issuer + "/token", data={"grant_type": "client_credentials"},
                                     auth=auth, timeout=10).status_code

            sent = 0
            with ThreadPoolExecutor(max_workers=4) as pool:
                # Batches of 20 in parallel until both workers have served some (usually the first).
                while sent < 200 and len(tokens_by_process(folder)) < 2:
                    assert set(pool.map(token, range(20))) == {200}
                    sent += 20
            by_process = tokens_by_process(folder)
            assert len(by_process) == 2, by_process  # both workers issued tokens...
            assert sum(by_process.values()) == sent
            for _ in range(6):  # ...and whichever worker answers /metrics counts them all
                assert tokens_counted(idp.issuer) == sent
        finally:
            idp.stop()
        if not operator_folder:
            assert not folder.exists()  # the master removed its temporary folder on the way out
