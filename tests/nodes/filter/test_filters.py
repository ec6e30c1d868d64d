"""filter.biquad and filter.butterworth against scipy.signal, and block-size invariance."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.signal as sps
from node_harness import validation_error
from stream_harness import SR, assert_block_invariant, ctx_for, noise, params_for, whole

from graphengine.blocknode import StreamSpec
from graphengine.errors import ParamError
from graphengine.node import PortInfo
from nodes.filter.iir import BIQUAD_MODES, Biquad, Butterworth

ROOT = Path(__file__).resolve().parents[3]


def prepared(cls: type, channels: int = 2, **given):
    instance = cls(ctx_for(cls), **params_for(cls, **given))
    instance.prepare(StreamSpec(SR, channels, 4096, 1000, (channels,), (1000,)))
    instance.reset()
    return instance


BIQUAD_CASES = {
    "lowpass": {"cutoff_hz": 2000.0},
    "highpass": {"cutoff_hz": 100.0, "q": 2.0},
    "bandpass": {"cutoff_hz": 1000.0, "q": 4.0},
    "notch": {"cutoff_hz": 60.0, "q": 10.0},
    "peak": {"cutoff_hz": 3000.0, "q": 1.5, "gain_db": 9.0},
    "lowshelf": {"cutoff_hz": 200.0, "gain_db": -12.0},
    "highshelf": {"cutoff_hz": 8000.0, "gain_db": 6.0},
}


# --------------------------------------------------------------------------- biquad


@pytest.mark.parametrize("mode", BIQUAD_MODES)
def test_biquad_is_block_size_invariant(mode):
    assert_block_invariant(Biquad, noise(), mode=mode, **BIQUAD_CASES[mode])


@pytest.mark.parametrize("mode", BIQUAD_MODES)
def test_biquad_output_matches_scipy_sosfilt_and_lfilter(mode):
    audio = noise(frames=8000, seed=1)
    node = prepared(Biquad, mode=mode, **BIQUAD_CASES[mode])
    out = whole(Biquad, audio, mode=mode, **BIQUAD_CASES[mode])
    x = audio.samples.astype(np.float64)
    np.testing.assert_allclose(out, sps.sosfilt(node._sos, x, axis=1), atol=1e-5)
    b, a = node._sos[0, :3], node._sos[0, 3:]
    np.testing.assert_allclose(out, sps.lfilter(b, a, x, axis=1), atol=1e-5)


def biquad_response(mode: str, freqs: list[float], **given) -> np.ndarray:
    node = prepared(Biquad, mode=mode, **given)
    return sps.sosfreqz(node._sos, worN=np.asarray(freqs), fs=SR)[1]


@pytest.mark.parametrize(("mode", "cutoff_hz"), [("lowpass", 1000.0), ("highpass", 250.0)])
def test_biquad_pass_filters_at_q_0_7071_are_second_order_butterworth(mode, cutoff_hz):
    ours = prepared(Biquad, mode=mode, cutoff_hz=cutoff_hz, q=1 / math.sqrt(2))._sos
    reference = sps.butter(2, cutoff_hz, mode, fs=SR, output="sos")
    np.testing.assert_allclose(ours, reference, atol=1e-12)
    (gain,) = np.abs(biquad_response(mode, [cutoff_hz], cutoff_hz=cutoff_hz, q=1 / math.sqrt(2)))
    assert 20 * math.log10(gain) == pytest.approx(-3.0103, abs=1e-3)


def test_biquad_bandpass_is_first_order_butterworth_band_with_the_same_edges():
    low, high = 500.0, 2000.0
    # RBJ's centre and Q in the bilinear-warped domain of the band edges
    warped = [math.tan(math.pi * f / SR) for f in (low, high)]
    centre = math.atan(math.sqrt(warped[0] * warped[1])) * SR / math.pi
    q = math.sqrt(warped[0] * warped[1]) / (warped[1] - warped[0])
    freqs = np.geomspace(20, 20000, 200)
    ours = biquad_response("bandpass", list(freqs), cutoff_hz=centre, q=q)
    reference = sps.sosfreqz(
        sps.butter(1, [low, high], "bandpass", fs=SR, output="sos"), freqs, fs=SR
    )
    np.testing.assert_allclose(ours, reference[1], atol=1e-5)
    assert abs(biquad_response("bandpass", [centre], cutoff_hz=centre, q=q)[0]) == pytest.approx(1)


def test_biquad_notch_removes_its_frequency_and_passes_the_rest():
    gains = np.abs(biquad_response("notch", [1000.0, 50.0, 15000.0], cutoff_hz=1000.0, q=5.0))
    assert gains[0] < 1e-9
    np.testing.assert_allclose(gains[1:], 1.0, atol=2e-3)


@pytest.mark.parametrize("gain_db", [-12.0, 6.0, 18.0])
def test_biquad_peak_gain_at_centre_and_unity_far_away(gain_db):
    freqs = [2000.0, 20.0, 21000.0]
    db = 20 * np.log10(np.abs(biquad_response("peak", freqs, cutoff_hz=2000.0, gain_db=gain_db)))
    assert db[0] == pytest.approx(gain_db, abs=1e-9)
    np.testing.assert_allclose(db[1:], 0.0, atol=0.1)


@pytest.mark.parametrize("gain_db", [-9.0, 12.0])
def test_biquad_shelves_reach_gain_and_half_gain_at_the_corner(gain_db):
    low = 20 * np.log10(
        np.abs(biquad_response("lowshelf", [0.0, 300.0, SR / 2], cutoff_hz=300.0, gain_db=gain_db))
    )
    np.testing.assert_allclose(low, [gain_db, gain_db / 2, 0.0], atol=1e-9)
    high = 20 * np.log10(
        np.abs(
            biquad_response("highshelf", [0.0, 5000.0, SR / 2], cutoff_hz=5000.0, gain_db=gain_db)
        )
    )
    np.testing.assert_allclose(high, [0.0, gain_db / 2, gain_db], atol=1e-9)


def test_biquad_measured_spectrum_follows_its_response():
    audio = noise(channels=1, frames=1 << 16, seed=3)
    out = whole(Biquad, audio, mode="lowpass", cutoff_hz=2000.0)
    freqs, pxx_in = sps.welch(audio.samples[0], fs=SR, nperseg=4096)
    _, pxx_out = sps.welch(out[0], fs=SR, nperseg=4096)
    band = (freqs > 200) & (freqs < 8000)
    measured = 10 * np.log10(pxx_out[band] / pxx_in[band])
    expected = 20 * np.log10(
        np.abs(biquad_response("lowpass", list(freqs[band]), cutoff_hz=2000.0))
    )
    np.testing.assert_allclose(measured, expected, atol=0.3)


@pytest.mark.parametrize("type_id", ["filter.biquad", "filter.butterworth"])
def test_cutoff_at_or_above_nyquist_is_a_declared_rule_the_engine_checks(type_id):
    tone = {"src": {"type": "source.tone", "duration_s": 0.1}}
    error = validation_error(type_id, sample_rate=SR, upstream=tone, in_="src", cutoff_hz=22050.0)
    assert isinstance(error, ParamError) and error.node_id == "n", error
    assert error.port_or_param == "cutoff_hz" and error.node_type == type_id
    assert "22050 Hz is not below Nyquist (22050 Hz at 44100 Hz)" in error.message


def test_biquad_kernel_processes_like_process():
    audio = noise(seed=5)
    a = prepared(Biquad, mode="peak", gain_db=6.0)
    b = prepared(Biquad, mode="peak", gain_db=6.0)
    fn, args = b.kernel()
    for start in range(0, 2000, 500):
        block = audio.samples[:, start : start + 500]
        np.testing.assert_array_equal(fn(block.copy(), *args), a.process(block.copy()))


# --------------------------------------------------------------------------- butterworth


BUTTER_EDGES = {"lowpass": [(30.0,), (1000.0,), (16000.0,)], "highpass": [(40.0,), (5000.0,)]}
BUTTER_EDGES["bandpass"] = [(100.0, 150.0), (300.0, 3400.0), (50.0, 20000.0)]


def butter_params(mode: str, order: int, edges: tuple[float, ...]) -> dict:
    given = {"mode": mode, "order": order, "cutoff_hz": edges[0]}
    if len(edges) == 2:
        given["high_cutoff_hz"] = edges[1]
    return given


@pytest.mark.parametrize("mode", ["lowpass", "highpass", "bandpass"])
@pytest.mark.parametrize("order", range(1, 9))
def test_butterworth_response_matches_scipy_butter(mode, order):
    freqs = np.concatenate([np.geomspace(5, SR / 2, 300), [0.0]])
    for edges in BUTTER_EDGES[mode]:
        ours = prepared(Butterworth, **butter_params(mode, order, edges))._sos
        assert ours.shape == (order if mode == "bandpass" else math.ceil(order / 2), 6)
        wn = edges if mode == "bandpass" else edges[0]
        reference = sps.butter(order, wn, mode, fs=SR, output="sos")
        h_ours = sps.sosfreqz(ours, freqs, fs=SR)[1]
        h_ref = sps.sosfreqz(reference, freqs, fs=SR)[1]
        np.testing.assert_allclose(h_ours, h_ref, atol=1e-5, err_msg=f"{edges}")


@pytest.mark.parametrize(
    ("mode", "order", "edges"),
    [("lowpass", 8, (500.0,)), ("highpass", 3, (80.0,)), ("bandpass", 5, (300.0, 3400.0))],
)
def test_butterworth_output_matches_scipy_sosfilt_of_scipy_design(mode, order, edges):
    audio = noise(frames=6000, seed=2)
    out = whole(Butterworth, audio, **butter_params(mode, order, edges))
    wn = edges if mode == "bandpass" else edges[0]
    reference = sps.sosfilt(
        sps.butter(order, wn, mode, fs=SR, output="sos"), audio.samples.astype(np.float64), axis=1
    )
    np.testing.assert_allclose(out, reference, atol=1e-5)


@pytest.mark.parametrize(
    ("mode", "order", "edges"),
    [("lowpass", 1, (1000.0,)), ("highpass", 6, (200.0,)), ("bandpass", 3, (400.0, 900.0))],
)
def test_butterworth_is_block_size_invariant(mode, order, edges):
    assert_block_invariant(Butterworth, noise(channels=3), **butter_params(mode, order, edges))


def test_butterworth_bandpass_edges_are_checked():
    infer, port = Butterworth.spec.infer, {"in": PortInfo("audio", (1, 100), SR)}
    with pytest.raises(ParamError, match=r"high_cutoff_hz.*needs its upper edge"):
        infer(port, params_for(Butterworth, mode="bandpass"), ctx_for(Butterworth))
    with pytest.raises(ParamError, match=r"high_cutoff_hz.*500 Hz is not above cutoff_hz \(1000"):
        infer(
            port,
            params_for(Butterworth, mode="bandpass", high_cutoff_hz=500.0),
            ctx_for(Butterworth),
        )
    with pytest.raises(ParamError, match=r"high_cutoff_hz.*30000 Hz is not below Nyquist \(22050"):
        infer(
            port,
            params_for(Butterworth, mode="bandpass", high_cutoff_hz=30000.0),
            ctx_for(Butterworth),
        )


def test_butterworth_upper_edge_is_ignored_outside_bandpass():
    import graphengine as ge

    graph = ge.Graph(sample_rate=SR)
    graph.add("src", "source.tone", duration_s=0.1)
    graph.add("lp", "filter.butterworth", in_="src", cutoff_hz=1000.0, high_cutoff_hz=30000.0)
    graph.validate()


# --------------------------------------------------------------------------- imports


def test_validating_the_streaming_effects_loads_no_numba_or_scipy_signal():
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from graphengine.node import NodeContext, PortInfo
        from graphengine.registry import default_registry

        stereo = PortInfo("audio", (2, 1000), 44100.0)
        types = [
            "filter.biquad", "filter.butterworth", "effect.compressor", "effect.distortion",
            "effect.bitcrush", "effect.dcblock", "effect.delay", "effect.echo", "effect.pan",
            "channels.mono", "channels.split", "effect.fade", "channels.merge",
        ]
        classes = [default_registry().get(t).block_class for t in types]
        for cls in classes:
            params = {p.name: p.default for p in cls.spec.params}
            if cls.spec.type_id == "filter.butterworth":
                params |= {"mode": "bandpass", "high_cutoff_hz": 2000.0}
            port = [stereo, stereo] if cls.spec.type_id == "channels.merge" else stereo
            ctx = NodeContext("n", cls.spec.type_id, 44100.0, Path("."))
            assert cls.spec.infer({"in": port}, params, ctx)["out"].shape is not None
        print(",".join(m for m in ("scipy.signal", "numba") if m in sys.modules))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
