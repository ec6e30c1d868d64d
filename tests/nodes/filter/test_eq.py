"""filter.eq: the measured response is the product of the RBJ cookbook biquads (scipy.freqz)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal as sps
from node_harness import validation_error
from stream_harness import SR, assert_block_invariant, noise, whole

from graphengine.errors import ParamError
from graphengine.types import Audio
from nodes.filter.eq import Eq


def cookbook(kind: str, f0: float, gain_db: float, q: float, fs: float):
    """(b, a) of one biquad, written from the Audio EQ Cookbook (R. Bristow-Johnson)."""
    a_ = 10 ** (gain_db / 40)
    w0 = 2 * math.pi * f0 / fs
    cw, alpha = math.cos(w0), math.sin(w0) / (2 * q)
    if kind == "peak":
        b = [1 + alpha * a_, -2 * cw, 1 - alpha * a_]
        a = [1 + alpha / a_, -2 * cw, 1 - alpha / a_]
    elif kind == "lowshelf":
        r = 2 * math.sqrt(a_) * alpha
        b = [a_ * ((a_ + 1) - (a_ - 1) * cw + r), 2 * a_ * ((a_ - 1) - (a_ + 1) * cw)]
        b.append(a_ * ((a_ + 1) - (a_ - 1) * cw - r))
        a = [(a_ + 1) + (a_ - 1) * cw + r, -2 * ((a_ - 1) + (a_ + 1) * cw)]
        a.append((a_ + 1) + (a_ - 1) * cw - r)
    elif kind == "highshelf":
        r = 2 * math.sqrt(a_) * alpha
        b = [a_ * ((a_ + 1) + (a_ - 1) * cw + r), -2 * a_ * ((a_ - 1) + (a_ + 1) * cw)]
        b.append(a_ * ((a_ + 1) + (a_ - 1) * cw - r))
        a = [(a_ + 1) - (a_ - 1) * cw + r, 2 * ((a_ - 1) - (a_ + 1) * cw)]
        a.append((a_ + 1) - (a_ - 1) * cw - r)
    elif kind == "lowpass":
        b = [(1 - cw) / 2, 1 - cw, (1 - cw) / 2]
        a = [1 + alpha, -2 * cw, 1 - alpha]
    elif kind == "highpass":
        b = [(1 + cw) / 2, -(1 + cw), (1 + cw) / 2]
        a = [1 + alpha, -2 * cw, 1 - alpha]
    else:
        raise AssertionError(kind)
    return b, a


EQS = {
    "mix-bus": (
        ["highpass", "lowshelf", "peak", "peak", "highshelf", "lowpass"],
        [30.0, 120.0, 450.0, 3000.0, 10000.0, 18000.0],
        [0.0, 3.0, -4.5, 2.0, -6.0, 0.0],
        [0.7071, 0.7, 2.0, 0.9, 0.7071, 0.5],
    ),
    "one-peak": (["peak"], [1000.0], [12.0], [4.0]),
    "shelves": (["lowshelf", "highshelf"], [200.0, 5000.0], [-12.0, 9.0], [1.2, 0.5]),
}


@pytest.mark.parametrize("name", list(EQS))
def test_response_is_the_product_of_the_cookbook_biquads(name):
    bands, freqs, gains, qs = EQS[name]
    impulse = np.zeros((1, 1 << 17), np.float32)
    impulse[0, 0] = 1.0
    h = whole(Eq, impulse, bands=bands, freqs_hz=freqs, gains_db=gains, qs=qs)[0]
    assert np.abs(h[-1000:]).max() < 1e-9  # the response has died away: the FFT is its spectrum
    measured = np.fft.rfft(h.astype(np.float64))
    w = np.fft.rfftfreq(h.size, 1 / SR)
    expected = np.ones(w.size, complex)
    for kind, f0, g, q in zip(bands, freqs, gains, qs, strict=True):
        expected *= sps.freqz(*cookbook(kind, f0, g, q, SR), worN=w, fs=SR)[1]
    audible = (w > 20) & (w < 20000) & (np.abs(expected) > 1e-3)  # above -60 dB
    db = 20 * np.log10(np.abs(measured[audible]) / np.abs(expected[audible]))
    assert np.abs(db).max() <= 0.01


def test_gains_and_qs_may_be_left_empty():
    x = noise(frames=4000)
    got = whole(Eq, x, bands=["peak", "highpass"], freqs_hz=[500.0, 80.0], gains_db=[], qs=[])
    want = whole(
        Eq, x, bands=["peak", "highpass"], freqs_hz=[500.0, 80.0], gains_db=[0, 0], qs=[0.7071] * 2
    )
    np.testing.assert_array_equal(got, want)


def test_no_bands_pass_the_signal_unchanged():
    x = noise(frames=3000)
    np.testing.assert_array_equal(whole(Eq, x, bands=[], freqs_hz=[]), x.samples)


def test_block_size_invariance():
    bands, freqs, gains, qs = EQS["mix-bus"]
    assert_block_invariant(Eq, noise(), bands=bands, freqs_hz=freqs, gains_db=gains, qs=qs)


UPSTREAM = {"src": {"type": "source.noise", "duration_s": 0.1}}


@pytest.mark.parametrize(
    ("params", "param", "fragment"),
    [
        (
            {"bands": ["peak", "highshelf"], "freqs_hz": [1000.0]},
            "freqs_hz",
            "1 values for 2 bands: band 2 (highshelf) has none",
        ),
        (
            {"bands": ["peak"], "freqs_hz": [1000.0], "gains_db": [3.0, 2.0]},
            "gains_db",
            "value 2 match no entry of bands",
        ),
        (
            {"bands": ["peak", "lowpass", "notch"], "freqs_hz": [1e3, 2e3, 3e3], "qs": [1.0]},
            "qs",
            "band 2 (lowpass), band 3 (notch) has none",
        ),
        ({"bands": ["peak"], "freqs_hz": [30000.0]}, "freqs_hz", "30000 Hz is not below Nyquist"),
        ({"bands": ["peek"], "freqs_hz": [1000.0]}, "bands", "did you mean 'peak'"),
        ({"bands": ["peak"], "freqs_hz": [1e3], "qs": [0.0]}, "qs", "out of range"),
    ],
    ids=["missing-freq", "extra-gain", "missing-qs", "nyquist", "unknown-band", "q-range"],
)
def test_bad_bands_are_refused_at_validation_naming_the_band(params, param, fragment):
    error = validation_error("filter.eq", upstream=UPSTREAM, in_="src", **params)
    assert isinstance(error, ParamError) and error.port_or_param == param
    assert fragment in str(error)


def test_eq_runs_in_a_graph():
    import graphengine as ge

    g = ge.Graph(sample_rate=SR)
    g.add("src", "source.noise", duration_s=0.2, channels=2, seed=1)
    g.add("eq", "filter.eq", in_="src", bands=["lowshelf"], freqs_hz=[200.0], gains_db=[6.0])
    out = g.run(outputs=["eq"], cache=False)["eq"]
    assert isinstance(out, Audio) and out.samples.shape == (2, round(0.2 * SR))
