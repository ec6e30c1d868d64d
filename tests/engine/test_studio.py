"""The studio's session and HTTP API on a real graph, server and files (no browser)."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from graphengine.studio.server import running
from graphengine.studio.session import Session

RATE = 22050
GRAPH = """\
format = 1
name = "studio-test"
sample_rate = 22050

[nodes.tone]
type = "source.tone"
waveform = "saw"
frequency = 220.0
duration_s = 0.5

[nodes.lp]
type = "filter.biquad"
in = "tone"
mode = "lowpass"
cutoff_hz = {cutoff}

[nodes.level]
type = "effect.gain"
in = "lp"
gain_db = -6.0

[nodes.out]
type = "sink.wav"
in = "level"
path = "out.wav"
"""


def write_graph(folder: Path, cutoff: str = "8000.0") -> Path:
    path = folder / "studio.toml"
    path.write_text(GRAPH.replace("{cutoff}", cutoff))
    return path


def share_above(samples: np.ndarray, hz: float) -> float:
    """Fraction of the power above ``hz`` (Welch estimate, scipy)."""
    freqs, power = signal.welch(samples.mean(axis=0), fs=RATE, nperseg=2048)
    return float(power[freqs > hz].sum() / power.sum())


def test_session_runs_every_node_but_the_sinks(tmp_path: Path) -> None:
    session = Session(write_graph(tmp_path))
    snapshot = session.refresh("opened")
    assert snapshot.ok
    assert snapshot.result.computed == ["tone", "lp", "level"]
    audio = snapshot.value("level", "out")
    assert audio.samples.shape == (1, RATE // 2)
    assert not (tmp_path / "out.wav").exists()  # trying things never writes the outputs


def test_a_tried_value_recomputes_only_downstream_and_never_writes_the_file(
    tmp_path: Path,
) -> None:
    path = write_graph(tmp_path)
    before_bytes = path.read_bytes()
    session = Session(path)
    wide = session.refresh("opened").value("lp", "out").samples
    tried = session.try_value("lp.cutoff_hz", "500")
    assert tried.ok and tried.result.computed == ["lp", "level"]
    narrow = tried.value("lp", "out").samples
    assert share_above(narrow, 2000.0) < 0.1 * share_above(wide, 2000.0)
    assert session.trials == {"lp.cutoff_hz": 500}
    assert path.read_bytes() == before_bytes
    back = session.take_back("lp.cutoff_hz")
    assert back.ok and back.result.computed == []  # every value comes from the cache again
    np.testing.assert_array_equal(back.value("lp", "out").samples, wide)


def test_errors_name_their_node_and_the_last_good_run_stays_shown(tmp_path: Path) -> None:
    path = write_graph(tmp_path)
    session = Session(path)
    good = session.refresh("opened")
    bad = session.try_value("lp.cutoff_hz", "-5")
    assert not bad.ok
    assert [(p.node, p.where) for p in bad.problems] == [("lp", "cutoff_hz")]
    assert session.shown is good
    session.take_back()
    write_graph(tmp_path, cutoff='"loud"')
    saved = session.poll(settle_s=0.01)
    assert saved is not None and not saved.ok
    assert saved.trigger == "saved: studio.toml"
    assert saved.problems[0].node == "lp" and "cutoff_hz" in saved.problems[0].message
    write_graph(tmp_path, cutoff="1000.0")
    fixed = session.poll(settle_s=0.01)
    assert fixed is not None and fixed.ok and fixed.result.computed == ["lp", "level"]
    assert session.poll() is None  # nothing changed since


def fetch(url: str, data: dict | None = None) -> tuple[int, bytes]:
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_api_serves_state_sound_pictures_and_takes_tried_values(tmp_path: Path) -> None:
    with running(write_graph(tmp_path), cache=False) as url:
        status, body = fetch(url + "api/state")
        state = json.loads(body)
        assert status == 200 and state["ok"] and state["order"] == ["tone", "lp", "level", "out"]
        lp = state["nodes"]["lp"]
        cutoff = next(p for p in lp["params"] if p["name"] == "cutoff_hz")
        assert (cutoff["value"], cutoff["unit"], cutoff["tried"]) == (8000.0, "Hz", False)
        assert lp["cache"]["status"] == "computed" and lp["cache"]["reason"]
        assert state["nodes"]["out"]["cache"]["status"] == "not run"
        view = lp["values"][0]
        status, wav = fetch(url + view["audio"]["url"].lstrip("/"))
        samples, rate = sf.read(io.BytesIO(wav), always_2d=True)
        assert status == 200 and rate == RATE and samples.shape == (RATE // 2, 1)
        assert view["audio"]["duration_s"] == 0.5
        for picture in view["pictures"].values():
            status, png = fetch(url + picture.lstrip("/"))
            assert status == 200 and png.startswith(b"\x89PNG")
        status, svg = fetch(url + "api/graph.svg")
        assert status == 200 and b'data-node="lp"' in svg and b'data-port-type="audio"' in svg

        status, body = fetch(url + "api/try", {"key": "lp.cutoff_hz", "value": "500"})
        tried = json.loads(body)
        assert status == 200 and tried["computed"] == ["tone", "lp", "level"]  # cache off
        assert tried["trials"] == {"lp.cutoff_hz": 500}
        new_url = tried["nodes"]["lp"]["values"][0]["pictures"]["spectrogram"]
        assert new_url != view["pictures"]["spectrogram"]  # the key in the URL moved

        status, body = fetch(url + "api/try", {"key": "lp.cutoff_hz"})
        assert status == 400 and b"expected" in body
        status, _ = fetch(url + "api/value/nobody/out/audio.wav")
        assert status == 404


def test_the_command_refuses_a_taken_port_and_a_graph_it_cannot_read(tmp_path: Path) -> None:
    import socket

    from support import run_cli

    graph = write_graph(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        busy = run_cli("studio", str(graph), "--port", str(port), "--no-cache")
    assert busy.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in busy.stderr
    assert "--port 0" in busy.stderr and "Traceback" not in busy.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text("format = 1\n[nodes.a\n")
    unreadable = run_cli("studio", str(broken), "--port", "0")
    assert unreadable.returncode == 2 and "broken.toml" in unreadable.stderr
    assert "Traceback" not in unreadable.stderr
