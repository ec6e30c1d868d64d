"""Batch rendering on a real Dask ``LocalCluster`` on 127.0.0.1.

One cluster of two worker processes is shared by the module (start-up takes a
few seconds). The command line runs in-process against it through
``--scheduler``, except the kill-and-resume test, which runs
``python -m graphengine batch`` with its own ``LocalCluster`` and SIGKILLs it.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest
import soundfile as sf

import graphengine as ge
from graphengine import cli
from graphengine.distributed import read_manifest
from support import BATCH_ARGS, FILE_SOURCE, cli_env, graph_toml, read_csv, run_cli

RATE = 44100
GAIN_DB = -6.0
PCM_16_STEP = 1.0 / 2**15

GRAPH = graph_toml(
    {
        "src": FILE_SOURCE,
        "g": {"type": "effect.gain", "in": "src", "gain_db": GAIN_DB},
        "out": {"type": "sink.wav", "in": "g", "path": "out/processed.wav"},
    },
    sample_rate=RATE,
)

LEVEL_GRAPH = graph_toml(
    {
        "src": FILE_SOURCE,
        "level": {"type": "test.level", "in": "src"},
        "out": {"type": "sink.wav", "in": "src", "path": "copy.wav", "subtype": "FLOAT"},
    },
    sample_rate=RATE,
)


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def write_inputs(folder: Path, names: list[str], seconds: float = 0.25) -> dict[str, np.ndarray]:
    """Stereo noise files of distinct levels under ``folder``; returns name -> samples."""
    written = {}
    for index, name in enumerate(names):
        rng = np.random.default_rng(index)
        samples = (rng.uniform(-1, 1, (round(seconds * RATE), 2)) * (0.1 + 0.04 * index)).astype(
            np.float32
        )
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, samples, RATE, subtype="FLOAT")
        written[name] = samples
    return written


def manifest_rows(out_dir: Path) -> list[dict[str, str]]:
    return read_csv(out_dir / "manifest.csv")


def batch_main(
    graph: Path, out: Path, *args: str, client: Any = None, bind: str | None = "src.path"
) -> int:
    """``graphengine batch GRAPH ARGS`` in this process; on ``client``'s cluster when given."""
    bound = ["--bind", bind] if bind is not None else []
    scheduler = ["--scheduler", client.scheduler.address] if client is not None else []
    return cli.main(["batch", str(graph), *args, *bound, "--out-dir", str(out), *scheduler])


def test_outputs_mirror_inputs_manifest_and_resume(client, tmp_path: Path) -> None:
    graph = tmp_path / "g.toml"
    graph.write_text(GRAPH)
    names = ["in/x/a.wav", "in/x/b.wav", "in/y/a.wav", "in/y/deep/c.wav"]
    sources = write_inputs(tmp_path, names)
    out = tmp_path / "res"
    run = functools.partial(
        ge.batch, graph, str(tmp_path / "in/**/*.wav"), bind="src.path", out_dir=out, client=client
    )

    records = run()

    assert [r["input"] for r in records] == sorted(str(tmp_path / n) for n in names)
    assert {r["status"] for r in records} == {"ok"}
    gain = 10 ** (GAIN_DB / 20)
    for name, samples in sources.items():
        relative = Path(name).relative_to("in").with_suffix("")
        written = out / relative / "processed.wav"
        data, rate = sf.read(written, dtype="float32")
        assert rate == RATE
        np.testing.assert_allclose(data, samples * gain, atol=PCM_16_STEP)
        sidecar = json.loads(Path(str(written) + ".graph.json").read_text())
        assert sidecar["graph"]["nodes"]["src"]["path"] == str(tmp_path / name)
    rows = manifest_rows(out)
    assert [row["input"] for row in rows] == [r["input"] for r in records]
    for row in rows:
        assert row["status"] == "ok" and row["error"] == ""
        relative = Path(row["input"]).relative_to(tmp_path / "in").with_suffix("")
        assert row["outputs"] == (relative / "processed.wav").as_posix()
        assert float(row["seconds"]) > 0
        assert row["worker"].startswith("tcp://127.0.0.1:")
    assert {row["worker"] for row in rows} <= set(client.scheduler_info()["workers"])
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("processed.wav")}

    again = run()
    assert {r["status"] for r in again} == {"skipped"}
    assert {p: p.stat().st_mtime_ns for p in out.rglob("processed.wav")} == stamps
    assert [row["status"] for row in manifest_rows(out)] == ["skipped"] * len(names)

    # other parameters: a different fingerprint, so every input runs again
    louder = run(params={"g.gain_db": 0.0})
    assert {r["status"] for r in louder} == {"ok"}
    data, _ = sf.read(out / "x" / "b" / "processed.wav", dtype="float32")
    np.testing.assert_allclose(data, sources["in/x/b.wav"], atol=PCM_16_STEP)

    forced = run(params={"g.gain_db": 0.0}, force=True)
    assert {r["status"] for r in forced} == {"ok"}
    assert len(manifest_rows(out)) == len(names)


def test_one_corrupt_file_among_20_fails_alone(client, tmp_path: Path, capsys) -> None:
    (tmp_path / "g.toml").write_text(GRAPH)
    names = [f"in/take{i:02d}.wav" for i in range(1, 20)]
    write_inputs(tmp_path, names, seconds=0.1)
    corrupt = tmp_path / "in" / "take00.wav"  # sorts first: validation must look further
    corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEthis is no audio" * 4)
    out = tmp_path / "res"

    code = batch_main(
        tmp_path / "g.toml", out, "--inputs", str(tmp_path / "in" / "*.wav"), client=client
    )

    assert code == 3
    rows = {row["input"]: row for row in manifest_rows(out)}
    assert len(rows) == 20
    failed = rows.pop(str(corrupt))
    assert failed["status"] == "failed"
    assert "src.path [source.file]: cannot read audio file 'take00.wav'" in failed["error"]
    assert failed["outputs"] == ""
    assert {row["status"] for row in rows.values()} == {"ok"}
    for name in names:
        assert (out / Path(name).stem / "processed.wav").is_file()
    assert not (out / "take00").exists()
    err = capsys.readouterr().err
    assert f"failed: {corrupt}: " in err
    assert "batch: 19 ok, 1 failed, 0 skipped" in err


def test_collect_gathers_one_row_per_file(client, tmp_path: Path) -> None:
    import batch_nodes

    graph = tmp_path / "level.toml"
    graph.write_text(LEVEL_GRAPH)
    names = [f"set/{i}.wav" for i in range(5)]
    sources = write_inputs(tmp_path, names)
    out = tmp_path / "res"
    run = functools.partial(
        ge.batch,
        graph,
        [tmp_path / n for n in names],
        bind="src.path",
        out_dir=out,
        client=client,
        collect=["level"],
        registry=batch_nodes.registry_with_level(),
    )

    records = run()

    assert {r["status"] for r in records} == {"ok"}
    table = read_csv(out / "collected.csv")
    assert list(table[0]) == ["input", "rms", "peak"]
    assert [row["input"] for row in table] == [str(tmp_path / n) for n in names]
    for row, name in zip(table, names, strict=True):
        samples = sources[name].astype(np.float64)
        np.testing.assert_allclose(float(row["rms"]), np.sqrt(np.mean(samples**2)), rtol=1e-6)
        np.testing.assert_allclose(float(row["peak"]), np.max(np.abs(samples)), rtol=1e-6)
    assert (out / "0" / "copy.wav").is_file()

    # resumed inputs keep their collected values
    (out / "collected.csv").unlink()
    again = run()
    assert {r["status"] for r in again} == {"skipped"}
    assert read_csv(out / "collected.csv") == table
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return
    parquet = pq.read_table(out / "collected.parquet").to_pydict()
    assert parquet["input"] == [row["input"] for row in table]
    np.testing.assert_allclose(parquet["rms"], [float(row["rms"]) for row in table])


@pytest.mark.parametrize(
    ("change", "extra", "message"),
    [
        ({"gain_db": -6.0}, [], "g.gain_dbb [effect.gain]: unknown parameter or port 'gain_dbb'"),
        ({}, ["--collect", "g"], "--collect g: g.out [effect.gain] is audio"),
        ({}, ["--bind", "sorce.path"], "--bind sorce.path: no node 'sorce' (did you mean 'src'?)"),
        ({}, ["--set", "g.gain_db=99"], "g.gain_db [effect.gain]: 99.0 dB is out of range"),
    ],
    ids=["unknown-param", "collect-audio", "bad-bind", "out-of-range"],
)
def test_bad_graph_or_arguments_exit_2_before_any_work(
    client, tmp_path: Path, capsys, change: dict, extra: list[str], message: str
) -> None:
    text = GRAPH.replace("gain_db =", "gain_dbb =") if change else GRAPH
    (tmp_path / "g.toml").write_text(text)
    write_inputs(tmp_path, ["in/a.wav", "in/b.wav"])
    out = tmp_path / "res"
    bind = None if "--bind" in extra else "src.path"
    tasks_before = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.task_groups))

    code = batch_main(
        tmp_path / "g.toml",
        out,
        "--inputs",
        str(tmp_path / "in" / "*.wav"),
        *extra,
        client=client,
        bind=bind,
    )

    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
    tasks_after = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.task_groups))
    assert tasks_after == tasks_before


def test_no_input_matched_is_exit_2(tmp_path: Path, capsys) -> None:
    (tmp_path / "g.toml").write_text(GRAPH)
    code = batch_main(
        tmp_path / "g.toml", tmp_path / "res", "--inputs", str(tmp_path / "nothing" / "*.wav")
    )
    assert code == 2
    assert "no input files matched" in capsys.readouterr().err


def test_inputs_file_and_suffix_clash(client, tmp_path: Path) -> None:
    (tmp_path / "g.toml").write_text(GRAPH)
    write_inputs(tmp_path, ["lib/kick.wav", "lib/snare.wav"])
    sf.write(tmp_path / "lib" / "kick.flac", np.zeros((100, 1), np.float32), RATE)
    listing = tmp_path / "lib" / "list.txt"
    listing.write_text("# the files\nkick.wav\n\nkick.flac\nsnare.wav\n")
    out = tmp_path / "res"

    code = batch_main(
        tmp_path / "g.toml", out, "--inputs-file", str(listing), "--quiet", client=client
    )

    assert code == 0
    assert (out / "kick.wav" / "processed.wav").is_file()
    assert (out / "kick.flac" / "processed.wav").is_file()
    assert (out / "snare" / "processed.wav").is_file()


# -- kill the batch midway, then resume --------------------------------------------------


def test_killed_batch_resumes_without_redoing_or_losing_inputs(tmp_path: Path) -> None:
    (tmp_path / "g.toml").write_text(GRAPH)
    names = [f"in/f{i:03d}.wav" for i in range(60)]
    write_inputs(tmp_path, names, seconds=2.0)
    out = tmp_path / "res"
    command = (*BATCH_ARGS, "--workers", "1", "--quiet")
    process = subprocess.Popen(
        [sys.executable, "-m", "graphengine", *command],
        cwd=tmp_path,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    children: list[psutil.Process] = []
    deadline = time.monotonic() + 60
    try:
        while len(read_manifest(out)) < 3:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "no input finished within 60 s"
            children = psutil.Process(process.pid).children(recursive=True) or children
            time.sleep(0.005)
    finally:
        children = psutil.Process(process.pid).children(recursive=True) or children
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        process.stderr.close()
    _gone, alive = psutil.wait_procs(children, timeout=30)
    for stray in alive:
        stray.kill()
    assert alive == [], "the killed batch left Dask worker processes running"

    finished = read_manifest(out)
    assert 3 <= len(finished) < len(names), "the batch was not killed midway"
    assert {r["status"] for r in finished.values()} == {"ok"}
    stamps = {}
    for record in finished.values():
        (output,) = record["outputs"]
        stamps[output] = Path(output).stat().st_mtime_ns

    done = run_cli(*command[:-1], cwd=tmp_path)  # not --quiet: print the summary

    assert done.returncode == 0, done.stderr
    rows = manifest_rows(out)
    assert sorted(row["input"] for row in rows) == sorted(str(tmp_path / n) for n in names)
    statuses = {row["input"]: row["status"] for row in rows}
    assert {i for i, s in statuses.items() if s == "skipped"} == set(finished)
    assert {s for i, s in statuses.items() if i not in finished} == {"ok"}
    for output, stamp in stamps.items():
        assert Path(output).stat().st_mtime_ns == stamp, f"{output} was written twice"
    for name in names:
        assert (out / Path(name).stem / "processed.wav").is_file()
    assert f"batch: {len(names) - len(finished)} ok, 0 failed, {len(finished)} skipped" in (
        done.stderr
    )


SUMMARY_GRAPH = graph_toml(
    {
        "src": {**FILE_SOURCE, "mono": True},
        "spec": {"type": "spectral.stft", "in": "src", "n_fft": 512, "hop": 256},
        "mfcc": {"type": "feature.mfcc", "in": "spec", "n_mfcc": 5},
        "summary": {"type": "feature.summary", "in": "mfcc", "stats": ["mean", "std"]},
    },
    sample_rate=22050,
)


def test_cli_collects_feature_summaries(client, tmp_path: Path) -> None:
    from graphengine.registry import default_registry

    needed = ("spectral.stft", "feature.mfcc", "feature.summary")
    if not all(t in default_registry() for t in needed):
        pytest.skip("the feature nodes are not installed")
    graph = tmp_path / "summary.toml"
    graph.write_text(SUMMARY_GRAPH)
    names = [f"in/{i}.wav" for i in range(3)]
    write_inputs(tmp_path, names, seconds=0.5)
    out = tmp_path / "res"

    code = batch_main(
        graph,
        out,
        "--inputs",
        str(tmp_path / "in" / "*.wav"),
        "--collect",
        "summary",
        "--quiet",
        client=client,
    )

    assert code == 0
    table = read_csv(out / "collected.csv")
    assert [row["input"] for row in table] == [str(tmp_path / n) for n in names]
    for row, name in zip(table, names, strict=True):
        # the same graph run in this process gives the same vector, named the same
        expected = ge.load(graph).run(
            {"src.path": str(tmp_path / name)}, outputs=["summary"], cache=False
        )["summary"]
        assert list(row)[1:] == list(expected.names)
        np.testing.assert_allclose(
            [float(row[n]) for n in expected.names], expected.values, rtol=1e-6
        )
    assert [r["status"] for r in manifest_rows(out)] == ["ok"] * len(names)


def test_set_file_paths_resolve_against_the_shells_folder(
    client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = tmp_path / "graphs" / "two.toml"
    graph.parent.mkdir()
    graph.write_text(
        graph_toml(
            {
                "src": FILE_SOURCE,
                "side": {"type": "source.file", "path": "placeholder.wav"},
                "mix": {"type": "signal.mix", "in": ["src", "side"]},
                "out": {"type": "sink.wav", "in": "mix", "path": "mixed.wav", "subtype": "FLOAT"},
            },
            sample_rate=RATE,
        )
    )
    work = tmp_path / "work"
    work.mkdir()
    takes = write_inputs(work, ["takes/a.wav", "side.wav"])
    monkeypatch.chdir(work)
    code = batch_main(
        Path("../graphs/two.toml"),
        Path("wet"),
        "takes/*.wav",
        "--set",
        "side.path=side.wav",
        client=client,
    )
    assert code == 0
    mixed, rate = sf.read(work / "wet" / "a" / "mixed.wav", always_2d=True)
    assert rate == RATE
    np.testing.assert_allclose(mixed, takes["takes/a.wav"] + takes["side.wav"], atol=1e-6)
