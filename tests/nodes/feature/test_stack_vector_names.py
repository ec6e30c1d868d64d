"""feature.stack_vectors never loses a value to a repeated name: it refuses, naming both sources,
and its ``prefixes`` tell the inputs apart (the report of two SNRs keeps both numbers)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from support import run_cli

REPORT = """
sample_rate = 8000
[nodes.clean]
type = "source.tone"
frequency = 440.0
duration_s = 0.5
[nodes.hiss]
type = "source.noise"
duration_s = 0.5
amplitude = {hiss}
[nodes.noisy]
type = "signal.mix"
in = ["clean", "hiss"]
[nodes.quiet]
type = "effect.gain"
in = "noisy"
gain_db = -1.0
[nodes.snr_noisy]
type = "metric.snr"
ref = "clean"
test = "noisy"
[nodes.snr_quiet]
type = "metric.snr"
ref = "clean"
test = "quiet"
[nodes.mse]
type = "metric.mse"
ref = "clean"
test = "noisy"
[nodes.report]
type = "feature.stack_vectors"
in = ["snr_noisy", "snr_quiet", "mse"]
{prefixes}
[nodes.wavs]
type = "sink.wav"
in = "noisy"
path = "out/noisy.wav"
subtype = "FLOAT"
[nodes.clean_out]
type = "sink.wav"
in = "clean"
path = "out/clean.wav"
subtype = "FLOAT"
[nodes.quiet_out]
type = "sink.wav"
in = "quiet"
path = "out/quiet.wav"
subtype = "FLOAT"
[nodes.json]
type = "sink.json"
in = "report"
path = "out/report.json"
[nodes.csv]
type = "sink.csv"
in = "report"
path = "out/report.csv"
"""


def _write(tmp_path: Path, prefixes: str = "", hiss: float = 0.05) -> None:
    (tmp_path / "g.toml").write_text(REPORT.format(prefixes=prefixes, hiss=hiss))


def test_a_name_two_inputs_share_is_an_error_at_validation_naming_both_sources(
    tmp_path: Path,
) -> None:
    _write(tmp_path)
    done = run_cli("validate", "g.toml", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "'snr_db' from both snr_noisy.out and snr_quiet.out" in done.stderr
    done = run_cli("render", "g.toml", "--no-cache", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "report.in [feature.stack_vectors]" in done.stderr
    assert "'snr_db' from both snr_noisy.out and snr_quiet.out" in done.stderr
    assert 'prefixes = ["snr_noisy", "snr_quiet", "mse"]' in done.stderr
    assert not (tmp_path / "out" / "report.json").exists()  # nothing half-written
    assert not (tmp_path / "out" / "noisy.wav").exists()


def test_prefixes_keep_every_number_under_its_own_name(tmp_path: Path) -> None:
    _write(tmp_path, 'prefixes = ["noisy", "quiet", "noisy"]')
    done = run_cli("render", "g.toml", "--no-cache", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    clean = sf.read(tmp_path / "out" / "clean.wav")[0]
    expected = {}
    for name in ("noisy", "quiet"):
        test = sf.read(tmp_path / "out" / f"{name}.wav")[0]
        expected[f"{name}.snr_db"] = 10 * np.log10(np.sum(clean**2) / np.sum((test - clean) ** 2))
    noisy = sf.read(tmp_path / "out" / "noisy.wav")[0]
    expected["noisy.mse"] = np.mean((noisy - clean) ** 2)
    report = json.loads((tmp_path / "out" / "report.json").read_text())["values"]
    assert list(report) == ["noisy.snr_db", "quiet.snr_db", "noisy.mse"]
    for name, value in expected.items():
        assert report[name] == pytest.approx(value, rel=1e-4), name
    with open(tmp_path / "out" / "report.csv", newline="") as handle:
        header, row = list(csv.reader(handle))
    assert header == list(report) and len(set(header)) == len(header)
    assert [float(v) for v in row] == pytest.approx(list(report.values()), rel=1e-6)


@pytest.mark.parametrize(
    "prefixes, fragment",
    [
        ('prefixes = ["a", "b"]', "2 prefixes for 3 inputs"),
        ('prefixes = ["a", "", "b"]', "a prefix must not be empty"),
    ],
)
def test_bad_prefixes_are_refused_before_anything_runs(
    tmp_path: Path, prefixes: str, fragment: str
) -> None:
    _write(tmp_path, prefixes)
    done = run_cli("validate", "g.toml", cwd=tmp_path)
    assert done.returncode == 2
    assert f"report.prefixes [feature.stack_vectors]: {fragment}" in done.stderr


def test_a_feature_named_time_s_does_not_repeat_the_csv_header(tmp_path: Path) -> None:
    import graphengine as ge
    from graphengine.types import Features

    g = ge.Graph(sample_rate=8000)
    g.add("osc", "source.tone", frequency=440.0, duration_s=0.1)
    g.add("spec", "spectral.stft", in_="osc", n_fft=256, hop=128)
    g.add("feats", "feature.rms", in_="spec")
    g.add("table", "sink.csv", in_="feats", path=str(tmp_path / "t.csv"))
    values = Features(np.zeros((1, 2, 3)), 10.0, ("time_s", "x"))
    with pytest.raises(ge.GraphError, match=r"'time_s' \(2 times\)"):
        g.run(inputs={"feats": values}, cache=False)
    assert not (tmp_path / "t.csv").exists()


def test_names_known_only_when_it_runs_are_refused_when_it_runs(tmp_path: Path) -> None:
    """Two wavelet-energy vectors (names made by the run) share every name: refused then."""
    import graphengine as ge

    g = ge.Graph(sample_rate=8000)
    g.add("osc", "source.tone", frequency=440.0, duration_s=0.1)
    g.add("quiet", "effect.gain", in_="osc", gain_db=-6.0)
    g.add("a", "feature.wavelet_energy", in_="osc", levels=3)
    g.add("b", "feature.wavelet_energy", in_="quiet", levels=3)
    g.add("both", "feature.stack_vectors", in_=["a", "b"])
    g.add("report", "sink.json", in_="both", path=str(tmp_path / "r.json"))
    assert g.validate().nodes["both"].info["out"].names is None
    with pytest.raises(ge.GraphError, match=r"names repeat: '\S+' from both a.out and b.out"):
        g.run(cache=False)
    assert not (tmp_path / "r.json").exists()
