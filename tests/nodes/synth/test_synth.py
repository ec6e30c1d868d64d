"""synth.* voices, source.chirp and source.silence: pitch, timing, aliasing and spectra measured."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile
from node_harness import make_ctx, run_node, validation_error
from scipy.signal import chirp as scipy_chirp
from scipy.signal.windows import blackmanharris
from scipy.special import jv

from graphengine.errors import ParamError, PortError
from graphengine.types import Notes
from nodes.notes.events import scale
from nodes.source.signals import chirp, silence
from nodes.synth.voices import additive, fm, osc, pluck, pluck_tuning, wavetable, wavetable_file

SR = 44100.0
VOICES = [
    (osc, {"waveform": "sine"}),
    (osc, {"waveform": "saw"}),
    (osc, {"waveform": "triangle"}),
    (wavetable, {}),
    (additive, {}),
    (fm, {"index": 1.0}),
    (pluck, {"decay_s": 8.0}),
]
VOICE_IDS = [f"{fn.spec.type_id}-{p.get('waveform', '')}" for fn, p in VOICES]


def render(fn, notes: Notes, **params):
    return run_node(fn, make_ctx(fn.spec.type_id), notes, **params).samples[0].astype(np.float64)


def one(
    frequency: float, onset: float = 0.0, duration: float = 1.0, velocity: float = 1.0
) -> Notes:
    return Notes([onset], [duration], [frequency], [velocity])


def peak_hz(x: np.ndarray, near: float, sample_rate: float = SR) -> float:
    """The spectral peak within ±8 % of ``near``: zero-padded Hann FFT + parabolic interpolation."""
    n = 1 << 20
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size), n))
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    band = np.flatnonzero((freqs > near * 0.92) & (freqs < near * 1.08))
    k = band[np.argmax(spectrum[band])]
    a, b, c = np.log(spectrum[k - 1 : k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sample_rate / n


def cents(measured: float, target: float) -> float:
    return 1200.0 * math.log2(measured / target)


@pytest.mark.parametrize(("fn", "params"), VOICES, ids=VOICE_IDS)
def test_every_scale_note_is_in_tune_and_on_its_sample(fn, params):
    # the chromatic quarter-tone scale 440 -> 880 Hz, 0.5 s slots, each note sounding 0.25 s
    notes = run_node(scale, make_ctx("notes.scale"), root="A4", mode="quarter_tone", legato=0.5)
    shape = {"release_ms": 20.0}
    x = render(fn, notes, **params, **shape)
    template = render(fn, one(440.0, 0.0, 0.25, 0.8), **params, **shape)
    worst_hz = worst_cents = 0.0
    for k, (onset, f) in enumerate(zip(notes.onset_s, notes.frequency_hz, strict=True)):
        start = round(onset * SR)
        assert start == k * 22050
        assert np.all(x[start - 200 : start] == 0.0) if k else True  # silence before it
        assert np.any(x[start : start + 3] != 0.0)
        segment = x[start + 441 : start + round(0.25 * SR)]  # skip the attack
        measured = peak_hz(segment, f)
        worst_hz = max(worst_hz, abs(measured - f))
        worst_cents = max(worst_cents, abs(cents(measured, f)))
        if k == 0 and fn is not pluck:  # the first note is the template, sample for sample
            np.testing.assert_array_equal(x[: template.size], template)
    assert worst_hz <= 0.5 and worst_cents <= 1.0, (worst_hz, worst_cents)


@pytest.mark.parametrize(("fn", "params"), VOICES, ids=VOICE_IDS)
def test_onset_is_sample_accurate(fn, params):
    onset = 0.123456  # 5444.4 samples: rounds to 5444
    x = render(fn, one(330.0, onset, 0.2), **params)
    alone = render(fn, one(330.0, 0.0, 0.2), **params)
    assert np.all(x[:5444] == 0.0) and np.any(x[5444:5447] != 0.0)
    if fn is not pluck:
        np.testing.assert_array_equal(x[5444:], alone)
    assert x.size == 5444 + alone.size


def alias_db(x: np.ndarray, f0: float) -> float:
    """Power not at a harmonic of f0, relative to the fundamental's, in dB (Blackman-Harris)."""
    spectrum = np.abs(np.fft.rfft(x * blackmanharris(x.size))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / SR)
    nearest = np.round(freqs / f0) * f0
    harmonic = np.abs(freqs - nearest) <= 8.0
    fundamental = spectrum[np.abs(freqs - f0) <= 8.0].sum()
    return 10.0 * math.log10(spectrum[~harmonic & (freqs > 20)].sum() / fundamental)


def test_saw_at_4_khz_has_no_audible_aliasing():
    x = render(osc, one(4000.0, 0.0, 1.0), waveform="saw", sustain=1.0, decay_ms=0.0)
    steady = x[4410 : 4410 + 32768]
    assert alias_db(steady, 4000.0) < -40.0
    # the same measurement on a naive (aliasing) saw fails the bar by far
    t = np.arange(steady.size) * 4000.0 / SR % 1.0
    assert alias_db(2.0 * ((t + 0.5) % 1.0) - 1.0, 4000.0) > -25.0


@pytest.mark.parametrize("waveform", ["saw", "square", "triangle"])
def test_band_limited_harmonics_follow_the_fourier_series(waveform):
    f0 = 441.0  # 100 whole cycles per 10000 samples: bins fall on harmonics
    x = render(osc, one(f0, 0.0, 1.0), waveform=waveform, sustain=1.0, amplitude=1.0)
    steady = x[4410 : 4410 + 10000]
    mags = np.abs(np.fft.rfft(steady)) * 2 / steady.size
    k = np.arange(1, 10)
    expected = {
        "saw": 2 / (np.pi * k),
        "square": np.where(k % 2 == 1, 4 / (np.pi * k), 0),
        "triangle": np.where(k % 2 == 1, 8 / (np.pi**2 * k**2), 0),
    }[waveform]
    np.testing.assert_allclose(mags[100 * k], expected, atol=2e-4)


@pytest.mark.parametrize("f0", [55.0, 61.7, 110.0, 220.0, 440.0, 659.26, 880.0, 1234.5, 1760.0])
def test_karplus_strong_is_within_5_cents(f0):
    x = render(pluck, one(f0, 0.0, 1.5), decay_s=20.0, brightness=0.5)
    measured = peak_hz(x[2205:66150], f0)
    assert abs(cents(measured, f0)) < 5.0
    # an integer-length loop (no fractional delay) would miss by more at the top
    period = SR / f0
    if f0 == 1760.0:
        assert abs(cents(SR / (round(period - 0.5) + 0.5), f0)) > 5.0


def test_pluck_allpass_delays_exactly_the_fraction():
    f = np.array([55.0, 440.0, 1760.0, 5000.0])
    delays, c = pluck_tuning(f, SR)
    w = 2 * np.pi * f / SR
    response = (c + np.exp(-1j * w)) / (1 + c * np.exp(-1j * w))
    phase_delay = -np.angle(response) / w
    np.testing.assert_allclose(delays + 0.5 + phase_delay, SR / f, rtol=1e-12)


def test_velocity_scales_amplitude_and_chords_sum():
    loud = render(osc, one(220.0, 0.0, 0.5, 1.0), waveform="sine")
    soft = render(osc, one(220.0, 0.0, 0.5, 0.25), waveform="sine")
    np.testing.assert_allclose(soft, 0.25 * loud, atol=1e-7)
    chord = Notes([0, 0, 0], [0.5] * 3, [220.0, 277.18, 329.63], [1.0] * 3)
    parts = [render(additive, one(f, 0.0, 0.5)) for f in chord.frequency_hz]
    np.testing.assert_allclose(render(additive, chord), sum(parts), atol=1e-6)


def test_fm_sidebands_follow_bessel_functions():
    # carrier 400 Hz, modulator 100 Hz, index 1: components at 400 + 100 n, |J_n(1)|
    x = render(
        fm,
        one(100.0, 0.0, 1.2),
        carrier_ratio=4.0,
        modulator_ratio=1.0,
        index=1.0,
        index_follows_envelope=False,
        sustain=1.0,
        amplitude=1.0,
    )
    steady = x[4410 : 4410 + 44100]
    mags = np.abs(np.fft.rfft(steady)) * 2 / steady.size
    for n in range(-3, 4):
        assert mags[400 + 100 * n] == pytest.approx(abs(jv(n, 1.0)), abs=2e-3)


def test_additive_partials_and_inharmonicity():
    b = 0.001
    x = render(
        additive,
        one(200.0, 0.0, 1.0),
        harmonics=[1.0, 0.5, 0.25],
        inharmonicity=b,
        sustain=1.0,
        amplitude=1.0,
    )
    steady = x[4410:]
    for k in (1, 2, 3):
        target = k * 200.0 * math.sqrt(1 + b * k * k)
        assert peak_hz(steady, target) == pytest.approx(target, abs=0.05)
    mags = (
        np.abs(
            np.fft.rfft(
                render(
                    additive, one(441.0, 0, 1), harmonics=[1.0, 0.5], sustain=1.0, amplitude=1.0
                )[4410:14410]
            )
        )
        * 2
        / 10000
    )
    np.testing.assert_allclose(mags[[100, 200]], [2 / 3, 1 / 3], atol=1e-3)


def test_wavetable_file_reads_a_single_cycle(tmp_path):
    theta = 2 * np.pi * np.arange(600) / 600
    soundfile.write(
        tmp_path / "cycle.wav",
        0.5 * np.sin(theta) + 0.25 * np.sin(3 * theta),
        48000,
        subtype="FLOAT",
    )
    x = render(wavetable_file, one(441.0, 0, 1), path=str(tmp_path / "cycle.wav"), sustain=1.0)
    mags = np.abs(np.fft.rfft(x[4410:14410]))
    assert mags[300] / mags[100] == pytest.approx(0.5, rel=1e-3)
    assert mags[200] / mags[100] < 1e-4


@pytest.mark.parametrize("fn", [osc, additive, fm, pluck, wavetable])
def test_bad_notes_name_the_node_and_port(fn):
    ctx = make_ctx(fn.spec.type_id, node_id="voice")
    with pytest.raises(
        PortError, match=r"note 2 \(23000 Hz at 1 s\) is at or above Nyquist"
    ) as error:
        run_node(fn, ctx, Notes([0, 1], [1, 1], [440, 23000]))
    assert (error.value.node_id, error.value.port_or_param) == ("voice", "in")
    with pytest.raises(PortError, match="no notes to render"):
        run_node(fn, ctx, Notes([], [], []))


@pytest.mark.parametrize(
    ("type_id", "params", "name", "fragment"),
    [
        ("synth.osc", {"waveform": "ramp"}, "waveform", "'ramp' is not one of"),
        ("synth.fm", {"carrier_ratio": 0.0}, "carrier_ratio", "0 is not above 0"),
        ("synth.fm", {"carrier_ratio": 65.0}, "carrier_ratio", "65.0 is out of range [0.0, 64.0]"),
    ],
)
def test_declared_voice_rules_are_checked_by_the_engine(type_id, params, name, fragment):
    melody = {"seq": {"type": "notes.sequence"}}
    error = validation_error(type_id, upstream=melody, in_="seq", **params)
    assert isinstance(error, ParamError) and fragment in error.message, error
    assert error.node_id == "n" and error.port_or_param == name and error.node_type == type_id


@pytest.mark.parametrize("sweep", ["linear", "log"])
def test_chirp_matches_scipy(sweep):
    out = run_node(
        chirp,
        make_ctx("source.chirp"),
        start_hz=100.0,
        end_hz=8000.0,
        sweep=sweep,
        duration_s=1.0,
        amplitude=1.0,
    )
    t = np.arange(44100) / SR
    method = "linear" if sweep == "linear" else "logarithmic"
    expected = scipy_chirp(t, 100.0, 1.0, 8000.0, method=method, phi=-90)
    np.testing.assert_allclose(out.samples[0], expected, atol=2e-5)


def test_chirp_refuses_nyquist_and_silence_is_zero():
    error = validation_error("source.chirp", end_hz=30000.0)
    assert isinstance(error, ParamError) and error.port_or_param == "end_hz"
    assert "30000 Hz is not below Nyquist (22050 Hz at 44100 Hz)" in error.message
    quiet = run_node(silence, make_ctx("source.silence"), duration_s=0.5, channels=2)
    assert quiet.samples.shape == (2, 22050) and not quiet.samples.any()
