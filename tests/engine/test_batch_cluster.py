"""``graphengine batch --scheduler`` against a real ``dask scheduler`` + ``dask worker`` pair.

Both run as subprocesses on 127.0.0.1, as they would on a cluster's machines;
the batch command is a third process that only connects to the scheduler.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from support import BATCH_ARGS, FILE_SOURCE, cli_env, graph_toml, read_csv, run_cli

RATE = 22050
GRAPH = graph_toml(
    {
        "src": FILE_SOURCE,
        "rev": {"type": "effect.reverse", "in": "src"},
        "out": {"type": "sink.wav", "in": "rev", "path": "reversed.wav", "subtype": "FLOAT"},
    },
    sample_rate=RATE,
)


def start(args: list[str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *args],
            env=cli_env(),
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.slow
def test_batch_runs_on_a_separate_scheduler_and_worker(tmp_path: Path) -> None:
    scheduler_file = tmp_path / "scheduler.json"
    scheduler = start(
        [
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
        ],
        tmp_path / "scheduler.log",
    )
    worker = None
    try:
        wait_for(scheduler_file.exists, "the scheduler to start")
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        worker = start(
            [
                "worker",
                address,
                "--host",
                "127.0.0.1",
                "--nworkers",
                "1",
                "--nthreads",
                "1",
                "--no-dashboard",
                "--name",
                "remote-1",
            ],
            tmp_path / "worker.log",
        )
        wait_for(
            lambda: "Registered to:" in (tmp_path / "worker.log").read_text(),
            "the worker to register",
        )
        (tmp_path / "g.toml").write_text(GRAPH)
        sources = {}
        for index in range(4):
            samples = np.linspace(-0.5, 0.5 * index, RATE // 4, dtype=np.float32)
            path = tmp_path / "in" / f"ramp{index}.wav"
            path.parent.mkdir(exist_ok=True)
            sf.write(path, samples, RATE, subtype="FLOAT")
            sources[path] = samples

        done = run_cli(*BATCH_ARGS, "--scheduler", address, cwd=tmp_path, timeout=120)

        assert done.returncode == 0, done.stderr
        assert "batch: 4 ok, 0 failed, 0 skipped" in done.stderr
        rows = read_csv(tmp_path / "res" / "manifest.csv")
        assert sorted(row["input"] for row in rows) == sorted(str(p) for p in sources)
        log = (tmp_path / "worker.log").read_text()
        started = re.search(r"Start worker at:\s+(tcp://127\.0\.0\.1:\d+)", log)
        assert started is not None, log
        assert {row["worker"] for row in rows} == {started.group(1)}
        for path, samples in sources.items():
            data, rate = sf.read(tmp_path / "res" / path.stem / "reversed.wav", dtype="float32")
            assert rate == RATE
            np.testing.assert_array_equal(data, samples[::-1])
        # the worker (another process) ran the tasks; this one exited cleanly
        assert scheduler.poll() is None and worker.poll() is None
    finally:
        if worker is not None:
            stop(worker)
        stop(scheduler)
