"""Synthesis voices: nodes that render ``notes`` to audio.

Every voice is polyphonic without limit: each note is rendered on its own and
added in, so chords and overlapping release tails simply sum. A note starts
at the sample ``round(onset_s * rate)`` exactly (sample-accurate; the phase
of every oscillator is 0 at that sample), holds for ``round(duration_s *
rate)`` samples (at least one) and then releases. Its peak level is
``amplitude * velocity`` (velocity in [0, 1], linear): chords add up, so
lower ``amplitude`` for dense ones. The output has ``channels`` identical
channels and lasts until the last note's release has ended.

Frequencies at or above Nyquist (half the graph's sample rate) are refused
with an error naming the note; partials above Nyquist of a note below it are
left out (that is what band-limiting means). The voice loops are numba
kernels (``nodes/synth/_kernels.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from graphengine.node import InputPath, Inputs, NodeContext, Params, PortInfo, node, param
from graphengine.paramgroup import ParamGroup
from graphengine.types import Audio, Notes

WAVEFORMS = ("sine", "saw", "square", "triangle")
TABLE_SIZE = 8192
"""Wavetable length: up to 4095 harmonics; below rate/8192 Hz the highest are left out."""
MAX_HARMONICS = TABLE_SIZE // 2 - 1

AMPLITUDE = param(0.25, range=(0.0, 1.0), description="peak level of a note at velocity 1")
ATTACK = param(5.0, unit="ms", range=(0.0, 60_000.0), description="rise time to full level")
DECAY = param(100.0, unit="ms", range=(0.0, 60_000.0), description="fall time to the sustain")
SUSTAIN = param(0.7, range=(0.0, 1.0), description="level held until the note ends")
RELEASE = param(100.0, unit="ms", range=(0.0, 60_000.0), description="fade after the note ends")
CHANNELS = param(1, range=(1, 64), description="number of identical channels")
VOICE = ParamGroup(
    amplitude=(float, AMPLITUDE),
    attack_ms=(float, ATTACK),
    decay_ms=(float, DECAY),
    sustain=(float, SUSTAIN),
    release_ms=(float, RELEASE),
    channels=(int, CHANNELS),
)
"""Level, ADSR envelope and channels of the enveloped voices (all but ``synth.pluck``)."""


class Envelope(NamedTuple):
    """ADSR times in samples (at least 1) and the sustain level."""

    attack: int
    decay: int
    sustain: float
    release: int


class Schedule(NamedTuple):
    """Where each note lands: start, gate and total samples, frames of the whole output."""

    starts: np.ndarray
    gates: np.ndarray
    totals: np.ndarray
    frames: int


def _samples(ms: float, rate: float) -> int:
    return max(1, round(ms * rate / 1000.0))


def envelope(voice: Mapping[str, Any], rate: float) -> Envelope:
    """The ADSR of :data:`VOICE` parameters in samples at ``rate`` (each rounded, at least 1)."""
    return Envelope(
        _samples(voice["attack_ms"], rate),
        _samples(voice["decay_ms"], rate),
        voice["sustain"],
        _samples(voice["release_ms"], rate),
    )


def check_notes(notes: Notes, ctx: NodeContext) -> None:
    """Refuse an empty stream, non-finite values and frequencies outside (0, Nyquist)."""
    if notes.onset_s.size == 0:
        raise ctx.port_error("in", "no notes to render (the stream is empty)")
    nyquist = ctx.sample_rate / 2.0
    for name in ("onset_s", "duration_s", "frequency_hz", "velocity"):
        values = getattr(notes, name)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            message = f"note {bad[0] + 1} has a non-finite {name} ({values[bad[0]]})"
            raise ctx.port_error("in", message)
    checks = (
        (notes.onset_s < 0, "starts before 0 s"),
        (notes.duration_s < 0, "has a negative duration"),
        (notes.frequency_hz <= 0, "has a frequency not above 0 Hz"),
        (notes.frequency_hz >= nyquist, f"is at or above Nyquist ({nyquist:g} Hz)"),
    )
    for mask, what in checks:
        bad = np.flatnonzero(mask)
        if bad.size:
            k = bad[0]
            message = (
                f"note {k + 1} ({notes.frequency_hz[k]:g} Hz at {notes.onset_s[k]:g} s) {what}"
                + (f"; {bad.size - 1} more" if bad.size > 1 else "")
            )
            raise ctx.port_error("in", message)


def schedule(notes: Notes, release: int, ctx: NodeContext) -> Schedule:
    """Sample-accurate placement: start = round(onset * rate), gate >= 1 sample, then release."""
    rate = ctx.sample_rate
    starts = np.round(notes.onset_s * rate).astype(np.int64)
    gates = np.maximum(1, np.round(notes.duration_s * rate)).astype(np.int64)
    totals = gates + release
    return Schedule(starts, gates, totals, int(np.max(starts + totals)))


def amplitudes(notes: Notes, amplitude: float) -> np.ndarray:
    return amplitude * np.clip(notes.velocity, 0.0, 1.0)


def _render(
    kernel: Callable[..., None],
    notes: Notes,
    release: int,
    channels: int,
    ctx: NodeContext,
    *args: Any,
) -> Audio:
    """Place the checked notes, let ``kernel`` add them into silence, copy it to ``channels``.

    The kernel is called as ``kernel(out, starts, gates, totals, *args)``.
    """
    plan = schedule(notes, release, ctx)
    out = np.zeros(plan.frames, dtype=np.float32)
    kernel(out, plan.starts, plan.gates, plan.totals, *args)
    samples = np.empty((channels, out.size), dtype=np.float32)
    samples[:] = out
    return Audio(samples, ctx.sample_rate)


def _check_harmonics(harmonics: list[float], ctx: NodeContext) -> None:
    if not harmonics or not any(harmonics):
        raise ctx.param_error("harmonics", "needs at least one non-zero amplitude")


def infer_voice(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """Audio of unknown length (it depends on the notes' timing) at the graph rate."""
    return {"out": PortInfo("audio", None, sample_rate=ctx.sample_rate, itemsize=4)}


# ----------------------------------------------------------------------------- wavetables


def harmonic_series(waveform: str, count: int) -> np.ndarray:
    """Sine amplitudes of harmonics 1..count of an ideal waveform of peak 1.

    Saw: (2/π)(-1)^(k+1)/k (rising through 0 at phase 0); square: (4/π)/k on
    odd k; triangle: (8/π²)(-1)^((k-1)/2)/k² on odd k; sine: 1, 0, 0, ...
    """
    k = np.arange(1, count + 1, dtype=np.float64)
    odd = (k % 2) == 1
    if waveform == "saw":
        return (2.0 / np.pi) * (-1.0) ** (k + 1) / k
    if waveform == "square":
        return np.where(odd, 4.0 / (np.pi * k), 0.0)
    if waveform == "triangle":
        return np.where(odd, (8.0 / np.pi**2) * (-1.0) ** ((k - 1) // 2) / k**2, 0.0)
    return (k == 1).astype(np.float64)


def band_limit(frequency_hz: np.ndarray, rate: float, available: int) -> np.ndarray:
    """Harmonics kept for each note: the highest k with k * f strictly below Nyquist."""
    nyquist = rate / 2.0
    kept = np.ceil(nyquist / frequency_hz).astype(np.int64) - 1
    return np.clip(kept, 1, min(available, MAX_HARMONICS))


def _cycle(coefficients: np.ndarray, count: int) -> np.ndarray:
    """One table period from harmonics 1..count: ``sum_k Re(c_k * -i * exp(2πi k n / N))``."""
    spectrum = np.zeros(TABLE_SIZE // 2 + 1, dtype=np.complex128)
    spectrum[1 : count + 1] = -1j * coefficients[:count] * (TABLE_SIZE / 2.0)
    return np.fft.irfft(spectrum, TABLE_SIZE)


def tables_for(
    coefficients: np.ndarray, kept: np.ndarray, peak: float
) -> tuple[np.ndarray, np.ndarray]:
    """One table per distinct harmonic count: ``(tables, table index per note)``.

    ``coefficients[k - 1]`` is harmonic k as a complex amplitude: the table
    is ``sum_k Re(c_k * -i * exp(2πi k n / N))`` (so a real ``c_k`` is a sine
    of amplitude ``c_k``), divided by ``peak``.
    """
    counts, table_of = np.unique(kept, return_inverse=True)
    tables = np.empty((counts.size, TABLE_SIZE), dtype=np.float64)
    for row, count in enumerate(counts):
        tables[row] = _cycle(coefficients, count) / peak
    return tables, table_of.astype(np.int64)


def _full_peak(coefficients: np.ndarray) -> float:
    peak = float(np.max(np.abs(_cycle(coefficients, min(coefficients.size, MAX_HARMONICS)))))
    return peak if peak > 0 else 1.0


def render_wavetable(
    notes: Notes,
    coefficients: np.ndarray,
    peak: float,
    voice: Mapping[str, Any],
    ctx: NodeContext,
) -> Audio:
    """Render notes from harmonic coefficients, band-limited per note, with :data:`VOICE` params."""
    from nodes.synth._kernels import render_tables

    check_notes(notes, ctx)
    env = envelope(voice, ctx.sample_rate)
    kept = band_limit(notes.frequency_hz, ctx.sample_rate, coefficients.size)
    tables, table_of = tables_for(coefficients, kept, peak)
    steps = notes.frequency_hz / ctx.sample_rate
    return _render(
        render_tables,
        notes,
        env.release,
        voice["channels"],
        ctx,
        steps,
        amplitudes(notes, voice["amplitude"]),
        table_of,
        tables,
        *env,
    )


@node("synth.osc", version=1, infer=infer_voice)
@VOICE
def osc(
    in_: Notes,
    *,
    waveform: str = param("saw", choices=WAVEFORMS, description="the wave shape"),
    ctx: NodeContext,
    **voice: Any,
) -> Audio:
    """Band-limited oscillator voices (sine, saw, square, triangle) with an ADSR envelope.

    Each note plays its waveform built from exactly the harmonics below
    Nyquist (a per-note band-limited wavetable, read with cubic
    interpolation), so nothing aliases: the harmonics of a 4 kHz saw at
    44.1 kHz stop at the fifth (20 kHz). As with any band-limited waveform,
    the saw and square ring (Gibbs) up to about 9 % above ``amplitude``.
    The envelope is linear: ``attack_ms`` up to the note's level,
    ``decay_ms`` down to ``sustain`` (a fraction of it), held until the
    note ends, then ``release_ms`` down to silence.

    Example
    -------
        voice = {in = "melody", waveform = "saw", attack_ms = 10, release_ms = 300}
    """
    infer_voice({}, {"waveform": waveform}, ctx)
    coefficients = harmonic_series(waveform, MAX_HARMONICS).astype(np.complex128)
    return render_wavetable(in_, coefficients, 1.0, voice, ctx)


@node("synth.wavetable", version=1, infer=infer_voice)
@VOICE
def wavetable(
    in_: Notes,
    *,
    harmonics: list[float] = param(
        [1.0, 0.5, 0.33, 0.25, 0.2, 0.16], description="amplitude of harmonics 1, 2, 3, ..."
    ),
    ctx: NodeContext,
    **voice: Any,
) -> Audio:
    """Wavetable voices: one cycle built from a list of harmonic amplitudes.

    ``harmonics[k - 1]`` is the sine amplitude of harmonic k (negative values
    invert its phase). The cycle is scaled so its peak is 1, then each note
    reads it with cubic interpolation, keeping only the harmonics below
    Nyquist for that note. ADSR as in ``synth.osc``.

    Example
    -------
        organ = {in = "melody", harmonics = [1.0, 0.0, 0.5, 0.0, 0.25], sustain = 1.0}
    """
    _check_harmonics(harmonics, ctx)
    if len(harmonics) > MAX_HARMONICS:
        message = f"{len(harmonics)} harmonics; at most {MAX_HARMONICS}"
        raise ctx.param_error("harmonics", message)
    coefficients = np.asarray(harmonics, dtype=np.complex128)
    return render_wavetable(in_, coefficients, _full_peak(coefficients), voice, ctx)


def read_cycle(path: str, ctx: NodeContext) -> np.ndarray:
    """Harmonic coefficients (complex sine amplitudes) of a single-cycle WAV file, mixed to mono."""
    import soundfile

    try:
        data, _ = soundfile.read(path, dtype="float64", always_2d=True)
    except (soundfile.SoundFileError, RuntimeError, OSError) as error:
        message = f"cannot read the cycle: {getattr(error, 'error_string', None) or error}"
        raise ctx.param_error("path", message) from error
    cycle = data.mean(axis=1)
    if cycle.size < 4:
        message = f"a single cycle needs at least 4 samples, the file holds {cycle.size}"
        raise ctx.param_error("path", message)
    spectrum = np.fft.rfft(cycle)[1:] * (2.0 / cycle.size)
    if cycle.size % 2 == 0:
        spectrum[-1] /= 2.0
    coefficients = 1j * spectrum  # sine amplitude convention of tables_for
    if not np.any(np.abs(coefficients) > 1e-12):
        raise ctx.param_error("path", "the cycle is silent or constant")
    return coefficients[:MAX_HARMONICS]


@node("synth.wavetable_file", version=1, infer=infer_voice)
@VOICE
def wavetable_file(
    in_: Notes,
    *,
    path: InputPath = param(description="a WAV (or FLAC...) file holding exactly one cycle"),
    ctx: NodeContext,
    **voice: Any,
) -> Audio:
    """Wavetable voices from a single-cycle audio file.

    The whole file (mixed to mono, its DC removed) is taken as one period,
    whatever its length and sample rate; its harmonics are analysed with an
    FFT, so each note keeps only those below Nyquist and reads the
    band-limited cycle with cubic interpolation. The cycle is scaled so its
    peak is 1. ADSR as in ``synth.osc``.

    Example
    -------
        pad = {in = "chords", path = "cycle.wav", attack_ms = 200}
    """
    coefficients = read_cycle(path, ctx)
    return render_wavetable(in_, coefficients, _full_peak(coefficients), voice, ctx)


# ----------------------------------------------------------------------------- additive


@node("synth.additive", version=1, infer=infer_voice)
@VOICE
def additive(
    in_: Notes,
    *,
    harmonics: list[float] = param(
        [1.0, 0.5, 0.33, 0.25, 0.2], description="amplitude of partials 1, 2, 3, ..."
    ),
    inharmonicity: float = param(
        0.0, range=(0.0, 0.1), description="stiff-string B: partial k at k f sqrt(1 + B k²)"
    ),
    ctx: NodeContext,
    **voice: Any,
) -> Audio:
    """Additive voices: a bank of sine partials with given amplitudes, optionally inharmonic.

    Partial k (from 1) has amplitude ``harmonics[k - 1]`` and frequency
    ``k * f * sqrt(1 + inharmonicity * k²)`` (``inharmonicity = 0``: exact
    harmonics; about 0.0004 sounds like a piano string). The amplitudes are
    scaled so they sum to 1 (the sum can never exceed ``amplitude``);
    partials at or above Nyquist are left out. All partials start at phase
    0 at the onset sample. ADSR as in ``synth.osc``.

    Example
    -------
        bell = {in = "melody", harmonics = [1.0, 0.6, 0.4, 0.3], inharmonicity = 0.001}
    """
    from nodes.synth._kernels import render_additive

    _check_harmonics(harmonics, ctx)
    check_notes(in_, ctx)
    env = envelope(voice, ctx.sample_rate)
    weights = np.asarray(harmonics, dtype=np.float64)
    weights = weights / np.sum(np.abs(weights))
    k = np.arange(1, weights.size + 1, dtype=np.float64)
    ratios = k * np.sqrt(1.0 + inharmonicity * k**2)
    steps = np.outer(in_.frequency_hz / ctx.sample_rate, ratios)
    partial_amps = np.where(steps < 0.5, weights[np.newaxis, :], 0.0)
    state = np.zeros((weights.size, 5))
    return _render(
        render_additive,
        in_,
        env.release,
        voice["channels"],
        ctx,
        steps,
        partial_amps,
        amplitudes(in_, voice["amplitude"]),
        *env,
        state,
    )


# ----------------------------------------------------------------------------- fm


@node("synth.fm", version=1, infer=infer_voice)
@VOICE
def fm(
    in_: Notes,
    *,
    carrier_ratio: float = param(
        1.0, range=(0.0, 64.0), above=0, description="carrier frequency / note"
    ),
    modulator_ratio: float = param(
        1.0, range=(0.0, 64.0), description="modulator frequency / note"
    ),
    index: float = param(2.0, range=(0.0, 100.0), description="modulation index (radians)"),
    index_follows_envelope: bool = param(True, description="scale the index by the ADSR"),
    ctx: NodeContext,
    **voice: Any,
) -> Audio:
    """Two-operator FM voices (Chowning): a sine carrier phase-modulated by a sine.

    For a note at f the output is ``sin(2π fc t + I sin(2π fm t))`` with
    ``fc = carrier_ratio * f`` and ``fm = modulator_ratio * f``; integer
    ratios give harmonic spectra (1:1 brass-like, 1:2 clarinet-like odd
    harmonics), others bells. Sidebands lie at ``fc ± n fm`` with strength
    ``J_n(I)``; by Carson's rule the band is about ``2 (I + 1) fm`` wide.
    With ``index_follows_envelope`` the index is scaled by the ADSR, so notes
    darken as they decay. FM is not band-limited: sidebands beyond Nyquist
    fold back, so keep ``(index + 1) * fm + fc`` below it for clean high
    notes. The carrier must lie below Nyquist.

    Example
    -------
        bell = {in = "melody", modulator_ratio = 3.5, index = 4.0, release_ms = 800}
    """
    from nodes.synth._kernels import render_fm

    check_notes(in_, ctx)
    carriers = in_.frequency_hz * carrier_ratio
    if np.any(carriers >= ctx.sample_rate / 2):
        worst = float(np.max(carriers))
        message = (
            f"puts a carrier at {worst:g} Hz, at or above Nyquist ({ctx.sample_rate / 2:g} Hz)"
        )
        raise ctx.param_error("carrier_ratio", message)
    env = envelope(voice, ctx.sample_rate)
    return _render(
        render_fm,
        in_,
        env.release,
        voice["channels"],
        ctx,
        carriers / ctx.sample_rate,
        in_.frequency_hz * modulator_ratio / ctx.sample_rate,
        amplitudes(in_, voice["amplitude"]),
        index,
        index_follows_envelope,
        *env,
    )


# ----------------------------------------------------------------------------- pluck


def pluck_tuning(frequency_hz: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Delay-line lengths and allpass coefficients that tune a Karplus-Strong loop exactly.

    The loop delays by ``P = rate / f`` samples in all: ``N`` in the delay
    line, 0.5 in the two-point average and ``D = P - 0.5 - N`` (in [0.5, 1.5))
    in a first-order allpass. Its coefficient ``C = sin(ω (1 - D) / 2) /
    sin(ω (1 + D) / 2)`` makes the allpass's phase delay exactly ``D`` at the
    note's own frequency ω = 2π f / rate (not only at DC, as the usual
    ``(1 - D) / (1 + D)`` does), so the fundamental is in tune at any pitch.
    """
    period = rate / frequency_hz
    delays = np.floor(period - 1.0).astype(np.int64)
    fraction = period - 0.5 - delays
    omega = 2.0 * np.pi * frequency_hz / rate
    coefficients = np.sin(omega * (1.0 - fraction) / 2.0) / np.sin(omega * (1.0 + fraction) / 2.0)
    return delays, coefficients


MIN_PLUCK_DELAY = 2


@node("synth.pluck", version=1, infer=infer_voice)
def pluck(
    in_: Notes,
    *,
    decay_s: float = param(
        3.0, unit="s", range=(0.01, 600.0), description="time for the fundamental to fall 60 dB"
    ),
    brightness: float = param(0.7, range=(0.0, 1.0), description="0 dull (soft pluck) to 1 bright"),
    amplitude: float = AMPLITUDE,
    release_ms: float = param(80.0, unit="ms", range=(0.0, 60_000.0), description="damping time"),
    seed: int | None = param(None, description="seed of the excitation noise"),
    channels: int = CHANNELS,
    ctx: NodeContext,
) -> Audio:
    """Karplus-Strong plucked strings, tuned exactly with a fractional-delay allpass.

    Each note is a physical model of a string: a delay line one period long,
    filled with a burst of noise (the pluck) and fed back through a two-point
    average (the string's losses, stronger for high partials) and a
    first-order allpass that supplies the fractional part of the period, so
    every pitch is in tune (not only those whose period is a whole number
    of samples); see :func:`pluck_tuning`. ``decay_s`` is the time the
    fundamental takes to fall by 60 dB while the note is held; at the note's
    end the string is damped to silence over ``release_ms`` (a 60 dB
    fall). ``brightness`` smooths the excitation (a one-pole lowpass).
    Notes need a period of at least 3.5 samples (below 12.6 kHz at 44.1 kHz).

    Each note draws its noise from ``numpy.random.SeedSequence(seed)``, so
    the same seed gives the same strings.

    Example
    -------
        guitar = {in = "chords", decay_s = 2.0, brightness = 0.6}
    """
    from nodes.synth._kernels import render_pluck

    check_notes(in_, ctx)
    rate = ctx.sample_rate
    delays, coefficients = pluck_tuning(in_.frequency_hz, rate)
    if np.any(delays < MIN_PLUCK_DELAY):
        k = int(np.flatnonzero(delays < MIN_PLUCK_DELAY)[0])
        message = (
            f"note {k + 1} at {in_.frequency_hz[k]:g} Hz is too high for a plucked string "
            f"(its period must be at least 3.5 samples: below {rate / 3.5:g} Hz)"
        )
        raise ctx.port_error("in", message)
    losses = 10.0 ** (-3.0 / (decay_s * in_.frequency_hz))
    release_losses = 10.0 ** (-3.0 / (max(release_ms, 1.0) / 1000.0 * in_.frequency_hz))
    noise_at = np.concatenate([[0], np.cumsum(delays)[:-1]]).astype(np.int64)
    rng = np.random.default_rng(np.random.SeedSequence(0 if seed is None else seed))
    noise = rng.uniform(-1.0, 1.0, int(np.sum(delays)))
    smoothing = 0.95 * (1.0 - brightness)
    line = np.zeros(int(np.max(delays)), dtype=np.float64)
    return _render(
        render_pluck,
        in_,
        _samples(release_ms, rate),
        channels,
        ctx,
        delays,
        coefficients,
        losses,
        release_losses,
        amplitudes(in_, amplitude) * 0.5,
        noise,
        noise_at,
        smoothing,
        line,
    )
