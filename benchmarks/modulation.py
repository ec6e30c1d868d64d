"""Modulation effects: accuracy against analytic curves, and speed against pedalboard.

Run as a script::

    python benchmarks/modulation.py [--seconds 60] [--repeats 3]

Accuracy (the engine's nodes only; the references are formulas, not code under test):

- chorus, flanger, vibrato: the delay the output shows, against ``d(t) =
  delay + depth * sin(2 pi rate t + phase)``, in frames. Measured two
  ways: for a 440 Hz sine, the largest waveform error against ``sin(w (t -
  d(t)))`` divided by w (the delay error it allows); and the centroid of
  each delayed impulse of an impulse train (skewed by the curve's own slope,
  up to about a third of ``|d'|`` frames, printed beside it);
- tremolo: the gain applied to a constant signal against the gain formula;
- phaser at a frozen LFO (rate 0): the magnitude response of the impulse
  response against ``scipy.signal.freqz`` of the all-pass cascade, and the
  notch frequencies against the analytic ones.

Speed: each effect on ``--seconds`` of stereo noise at 44.1 kHz, best of
``--repeats``, as x realtime (seconds of audio per second of compute), through
the node's whole-signal function (one call of its numba kernel, compiled
beforehand). Peers, measured in the same run when ``pedalboard`` imports (it is
not a dependency): ``pedalboard.Chorus`` against ``effect.chorus`` (one voice,
like for like, and the default three) and ``effect.flanger`` (pedalboard's
chorus at a short delay with feedback is its flanger), ``pedalboard.Phaser``
against ``effect.phaser`` (6 stages, as JUCE's); the tremolo against the same
formula in numpy. The ratio column is ours / peer's realtime factor (above 1:
we are faster).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.signal as sps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graphengine.node import NodeContext
from graphengine.types import Audio
from nodes.effect.chorus import Chorus
from nodes.effect.flanger import Flanger
from nodes.effect.phaser import Phaser
from nodes.effect.tremolo import Tremolo
from nodes.effect.vibrato import Vibrato

SR = 44100.0


def run(cls: type, x: np.ndarray, **given) -> np.ndarray:
    params = {p.name: p.default for p in cls.spec.params} | given
    ctx = NodeContext("bench", cls.spec.type_id, SR, Path("."))
    return cls.spec.function(Audio(x, SR), ctx=ctx, **params).samples


def analytic_delay(n: np.ndarray, delay_ms: float, depth_ms: float, rate: float, phase_deg: float):
    theta = 2 * np.pi * rate * n / SR + np.deg2rad(phase_deg)
    return (delay_ms + depth_ms * np.sin(theta)) * SR / 1000.0


def sine_delay_error(cls: type, given: dict, seconds: float = 4.0) -> float:
    """Largest |y - sin(w (n - d(n)))| / w for a 440 Hz sine, in frames.

    The delay error the waveform allows: a delay wrong by e frames moves a
    unit sine by up to w e. (A phase read from the analytic signal is no
    finer: the Hilbert transform's own error near the ends is 1e-3 to 3e-2
    frames.)
    """
    n = np.arange(round(seconds * SR))
    omega = 2 * np.pi * 440.0 / SR
    y = run(cls, np.sin(omega * n)[np.newaxis].astype(np.float32), **given)[0]
    d = analytic_delay(n, given["delay_ms"], given["depth_ms"], given["rate_hz"], 0.0)
    start = int(d.max()) + 4  # once the delay line holds signal
    return float(np.abs(y.astype(np.float64) - np.sin(omega * (n - d)))[start:].max() / omega)


def impulse_delay_error(cls: type, given: dict, seconds: float = 4.0) -> float:
    """Largest |centroid of each delayed impulse - d(t)| in frames."""
    frames = round(seconds * SR)
    hi = int((given["delay_ms"] + given["depth_ms"]) * SR / 1000) + 4
    spacing = hi + 40
    x = np.zeros((1, frames), np.float32)
    onsets = np.arange(100, frames - spacing, spacing)
    x[0, onsets] = 1.0
    y = run(cls, x, **given)[0].astype(np.float64)
    worst = 0.0
    for n0 in onsets:
        window = np.arange(n0, n0 + hi)
        centroid = np.sum(window * y[window]) / np.sum(y[window])
        expected = analytic_delay(
            np.array([centroid]), given["delay_ms"], given["depth_ms"], given["rate_hz"], 0.0
        )[0]
        worst = max(worst, abs(centroid - n0 - expected))
    return worst


def tremolo_error() -> float:
    n = np.arange(round(2 * SR))
    y = run(Tremolo, np.ones((1, n.size), np.float32), rate_hz=6.0, depth=0.9)[0]
    return float(np.abs(y - (1 - 0.9 * (1 - np.sin(2 * np.pi * 6.0 * n / SR)) / 2)).max())


def phaser_errors(stages: int = 6, phase_deg: float = 60.0) -> tuple[float, float]:
    """(largest |H| error, largest notch-frequency error in Hz) at a frozen LFO, no feedback."""
    frames = 1 << 16
    x = np.zeros((1, frames), np.float32)
    x[0, 0] = 1.0
    given = {"rate_hz": 0.0, "stages": stages, "feedback": 0.0, "mix": 0.5, "phase_deg": phase_deg}
    h = run(Phaser, x, min_hz=300.0, max_hz=4000.0, **given)[0].astype(np.float64)
    break_hz = 300.0 * (4000.0 / 300.0) ** ((1 + np.sin(np.deg2rad(phase_deg))) / 2)
    t = np.tan(np.pi * break_hz / SR)
    a = (t - 1) / (t + 1)
    num = np.poly1d([1.0])
    den = np.poly1d([1.0])
    for _ in range(stages):
        num, den = num * np.poly1d([1.0, a]), den * np.poly1d([a, 1.0])
    b = 0.5 * den.coeffs[::-1] + 0.5 * num.coeffs[::-1]
    freqs = np.fft.rfftfreq(frames, 1 / SR)
    _, expected = sps.freqz(b, den.coeffs[::-1], worN=freqs, fs=SR)
    got = np.fft.rfft(h)
    magnitude = float(np.abs(np.abs(got) - np.abs(expected)).max())
    notch_error = 0.0
    for k in range(stages // 2):
        notch = SR / np.pi * np.arctan(t * np.tan((2 * k + 1) * np.pi / (2 * stages)))
        band = (freqs > notch * 0.7) & (freqs < notch * 1.4)
        found = freqs[band][np.argmin(np.abs(got[band]))]
        notch_error = max(notch_error, abs(found - notch))
    return magnitude, notch_error


def best_time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # compile / warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def speed_table(seconds: float, repeats: int) -> list[tuple[str, float, str, float | None]]:
    rng = np.random.default_rng(0)
    x = (0.3 * rng.standard_normal((2, round(seconds * SR)))).astype(np.float32)
    try:
        import pedalboard
    except ImportError:
        pedalboard = None

    def ours(cls: type, **given) -> float:
        return seconds / best_time(lambda: run(cls, x, **given), repeats)

    def board(plugin: object) -> float | None:
        if pedalboard is None:
            return None
        return seconds / best_time(lambda: plugin(x, SR), repeats)

    def numpy_tremolo() -> float:
        n = np.arange(x.shape[1])

        def go() -> np.ndarray:
            gain = 1 - 0.5 * (1 - np.sin(2 * np.pi * 5.0 * n / SR)) / 2
            return (x * gain).astype(np.float32)

        return seconds / best_time(go, repeats)

    pb = pedalboard
    chorus = board(pb and pb.Chorus(rate_hz=1.0, depth=0.25, centre_delay_ms=7.0, mix=0.5))
    flanger = board(pb and pb.Chorus(rate_hz=0.25, depth=0.6, centre_delay_ms=3.0, feedback=0.5))
    phaser = board(pb and pb.Phaser(rate_hz=0.5, depth=0.5, feedback=0.5, mix=0.5))
    one_voice = {"voices": 1, "rate_hz": 1.0, "depth_ms": 1.75, "delay_ms": 7.0}
    rows = [
        ("chorus, 1 voice", ours(Chorus, **one_voice), "pedalboard.Chorus", chorus),
        ("chorus, 3 voices", ours(Chorus, voices=3), "pedalboard.Chorus", chorus),
        ("flanger", ours(Flanger), "pedalboard.Chorus (3 ms, feedback 0.5)", flanger),
        ("phaser, 6 stages", ours(Phaser, stages=6), "pedalboard.Phaser", phaser),
        ("phaser, 4 stages", ours(Phaser, stages=4), "", None),
        ("tremolo", ours(Tremolo), "numpy, same formula", numpy_tremolo()),
        ("vibrato", ours(Vibrato), "", None),
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    curves = [
        ("chorus", Chorus, {"rate_hz": 1.5, "depth_ms": 4.0, "delay_ms": 10.0, "voices": 1}),
        ("flanger", Flanger, {"rate_hz": 0.5, "depth_ms": 2.0, "delay_ms": 3.0}),
        ("vibrato", Vibrato, {"rate_hz": 5.0, "depth_ms": 0.5, "delay_ms": 1.0}),
    ]
    print("Delay curve: measured delay - analytic d(t), frames (largest over 4 s)")
    print(f"{'effect':<9} {'sine waveform':>14} {'impulse centroid':>17} {'|d_dot| max':>12}")
    for name, cls, given in curves:
        wet = {"mix": 1.0, "feedback": 0.0} if cls is not Vibrato else {}
        settings = given | wet
        slope = 2 * np.pi * settings["rate_hz"] * settings["depth_ms"] / 1000.0
        waveform = sine_delay_error(cls, settings)
        centroid = impulse_delay_error(cls, settings)
        print(f"{name:<9} {waveform:>14.2e} {centroid:>17.2e} {slope:>12.2e}")
    magnitude, notch = phaser_errors()
    print(f"tremolo: largest gain error {tremolo_error():.2e} (6 Hz, depth 0.9)")
    print(f"phaser (frozen, 6 stages): |H| error {magnitude:.2e}, notch error {notch:.2f} Hz")
    print()
    print(f"Speed: {args.seconds:g} s of stereo at 44.1 kHz, best of {args.repeats}")
    print(f"{'effect':<18} {'ours x RT':>10}  {'peer':<40} {'peer x RT':>10} {'ratio':>7}")
    for name, ours, peer, theirs in speed_table(args.seconds, args.repeats):
        peer_text = f"{theirs:>10.0f}" if theirs else f"{'-':>10}"
        ratio = f"{ours / theirs:>7.2f}" if theirs else f"{'-':>7}"
        print(f"{name:<18} {ours:>10.0f}  {peer or '-':<40} {peer_text} {ratio}")


if __name__ == "__main__":
    main()
