"""The STFT validation inserts (audio straight into a spectrum input): documented, named, and a
clear message, not "no node", when someone tries to set its parameters."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np

import graphengine as ge
from graphengine import describe
from graphengine.registry import default_registry
from support import REPO_ROOT, run_cli

GRAPH = """
sample_rate = 8000
[nodes.osc]
type = "source.tone"
frequency = 440.0
duration_s = 0.5
[nodes.rms]
type = "feature.rms"
in = "osc"
[nodes.out]
type = "sink.csv"
in = "rms"
path = "out/rms.csv"
"""


def test_the_node_reference_says_when_the_stft_is_inserted_and_how_to_tune_it() -> None:
    spec = default_registry().get("spectral.stft")
    for page in (describe.text(spec), describe.markdown([spec])):
        flat = " ".join(page.split())
        assert "Inserted automatically where an audio output is connected straight to a " in flat
        assert "`osc--spectral-stft`" in flat and "add a `spectral.stft` node" in flat
    shipped = (REPO_ROOT / "docs" / "nodes.md").read_text()
    assert "Inserted automatically where an audio output" in shipped
    other = default_registry().get("effect.gain")
    assert "Inserted automatically" not in describe.text(other)


def test_the_inserted_stft_runs_with_the_documented_defaults(tmp_path: Path) -> None:
    (tmp_path / "g.toml").write_text(GRAPH)
    result = ge.load(tmp_path / "g.toml").run(outputs=["osc--spectral-stft", "osc"], cache=False)
    spectrum = result["osc--spectral-stft"]
    assert (spectrum.n_fft, spectrum.hop, spectrum.window) == (2048, 512, "hann")
    reference = librosa.stft(result["osc"].samples[0], n_fft=2048, hop_length=512)
    np.testing.assert_allclose(spectrum.data[0], reference, atol=2e-4)


def test_setting_its_parameters_says_to_add_a_spectral_stft_node(tmp_path: Path) -> None:
    (tmp_path / "g.toml").write_text(GRAPH)
    done = run_cli("render", "g.toml", "--set", "osc--spectral-stft.n_fft=1024", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "osc--spectral-stft is the spectral.stft node validation inserts after osc" in (
        done.stderr
    )
    assert 'add a spectral.stft node (in = "osc")' in done.stderr
    assert "no node" not in done.stderr
    assert not (tmp_path / "out").exists()
    typo = run_cli("render", "g.toml", "--set", "osc--spectral-sftf.n_fft=1024", cwd=tmp_path)
    assert typo.returncode == 2 and "no node 'osc--spectral-sftf'" in typo.stderr
