"""Serving from several worker processes: every worker sees the same tasks, clock, counters and configuration
through the SQLite store, so answers do not depend on which worker a request reaches."""

from __future__ import annotations

from pathlib import Path

from mock_server.app import create_app, publish_config
from mock_server.config import check_config
from mock_server.sqlite_store import SqliteStore


def test_a_reset_in_one_worker_keeps_the_clock_mode_another_worker_configured(tmp_path: Path) -> None:
    """Two apps on one store file, as two workers are: the second was never told the mode changed."""
    config = {"server": {"store": str(tmp_path / "store.db")}, "clock": {"mode": "speed"},
              "video": {"cache_dir": str(tmp_path / "videos")}}
    first = create_app(config).test_client()
    second = create_app(config, store=SqliteStore(tmp_path / "store.db")).test_client()
    assert first.patch("/__admin/config", json={"clock": {"mode": "manual"}}).status_code == 200
    assert second.post("/__admin/reset").status_code == 200
    for worker in (first, second):
        assert worker.get("/__admin/clock").json["mode"] == "manual"


def test_the_clock_starts_when_the_master_publishes_the_config_not_at_a_workers_first_request(tmp_path: Path) -> None:
    """Started lazily, the first requests of several workers would race to start it, each at its own moment;
    in instant mode a task created under a start other than the one kept would never leave the queue."""
    config = check_config({"server": {"store": str(tmp_path / "store.db")}, "clock": {"mode": "instant"},
                           "video": {"cache_dir": str(tmp_path / "videos")}})
    publish_config(SqliteStore(tmp_path / "store.db"), config, real_time=lambda: 1000.0)
    worker = create_app(config, store=SqliteStore(tmp_path / "store.db"), real_time=lambda: 2000.0).test_client()
    assert worker.get("/__admin/clock").json["now"] == 1000.0
