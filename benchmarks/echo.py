"""Echo cancellation benchmark: denoise.echo_cancel's double-talk detectors on real speech.

The far end is one real speaker (Debian's asterisk prompts, US English,
Allison Smith), the near end another (the Italian prompts of
``asterisk-prompt-it-menardi-wav``), both 8 kHz, fetched as in
``benchmarks/wavelets.py``. The far end talks for all 24 s and plays through
a synthetic room: a random impulse response of 250 ms decaying with an RT60
of 300 ms, 4 ms of delay, its echo 6 dB down (``ROOM``); the microphone adds
noise 50 dB below the echo. The near end talks from 10 s to 18 s, at a level
that puts its SNR against the echo at the microphone at 0 dB and at 6 dB.

Figures per tool: ERLE (echo power over residual echo power) where the far
end talks alone, converged (5-10 s) and after the double talk (18-24 s),
and during the double talk (10-18 s: the echo against what is left of it);
the near end's SNR during the double talk (its speech against everything
else in the output) next to what it was at the microphone; speed as x
realtime. Tools: the engine node with each detector (``ncc``, the default;
``geigel``; ``off``, version 1's behaviour), 2048 taps (256 ms), step 0.5;
the node's frequency-domain ``algorithm = "mdf"`` (2048 taps);
and, where the ``speexdsp`` package is installed, Speex's MDF echo canceller
(``speex_echo_cancellation``, 2048-tap filter, 128-sample frames), a
frequency-domain filter with its own double-talk-robust adaptive step.

Run: ``python benchmarks/echo.py``
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import graphengine as ge  # noqa: E402
from benchmarks.timing import seconds_of  # noqa: E402
from benchmarks.wavelets import real_speech  # noqa: E402

SECONDS = 24.0
DOUBLE_TALK = (10.0, 18.0)
TAPS = 2048
ROOM = {"length_s": 0.25, "rt60_s": 0.3, "delay_s": 0.004, "gain": 0.5}


def room_response(rate: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = round(ROOM["length_s"] * rate)
    h = rng.standard_normal(n) * np.exp(-np.arange(n) / (ROOM["rt60_s"] / np.log(1000) * rate))
    h[: round(ROOM["delay_s"] * rate)] = 0.0
    return h * ROOM["gain"] / np.linalg.norm(h)


def scenario(far: np.ndarray, near_voice: np.ndarray, rate: float, near_db: float) -> dict:
    n = round(SECONDS * rate)
    far = np.resize(far, n)
    t = np.arange(n) / rate
    talk = (t >= DOUBLE_TALK[0]) & (t < DOUBLE_TALK[1])
    near = np.zeros(n)
    span = int(talk.sum())
    near[talk] = np.resize(near_voice, span)
    echo = np.convolve(far, room_response(rate))[:n]
    near *= np.sqrt(np.sum(echo[talk] ** 2) / np.sum(near[talk] ** 2)) * 10 ** (near_db / 20)
    noise = 10 ** (-50 / 20) * np.std(echo) * np.random.default_rng(1).standard_normal(n)
    return {"far": far, "near": near, "echo": echo, "noise": noise, "t": t, "talk": talk}


def erle(s: dict, out: np.ndarray, start: float, end: float) -> float:
    part = (s["t"] >= start) & (s["t"] < end)
    residual = out - s["near"] - s["noise"]
    return float(10 * np.log10(np.sum(s["echo"][part] ** 2) / np.sum(residual[part] ** 2)))


def near_snr(s: dict, y: np.ndarray) -> float:
    talk = s["talk"]
    return float(10 * np.log10(np.sum(s["near"][talk] ** 2) / np.sum((y - s["near"])[talk] ** 2)))


def engine(s: dict, rate: float, detector: str) -> np.ndarray:
    if detector == "mdf":
        return engine_with(s, rate, algorithm="mdf")
    return engine_with(s, rate, step=0.5, double_talk=detector)


def engine_with(s: dict, rate: float, **params) -> np.ndarray:
    mic = s["echo"] + s["near"] + s["noise"]
    g = ge.Graph(sample_rate=rate)
    g.add("mic", "source.silence", duration_s=SECONDS)
    g.add("far", "source.silence", duration_s=SECONDS)
    g.add(
        "aec",
        "denoise.echo_cancel",
        mic="mic",
        reference="far",
        taps=TAPS,
        **params,
    )
    inputs = {"mic": ge.Audio(mic, rate), "far": ge.Audio(s["far"], rate)}
    out = g.run(outputs=["aec"], inputs=inputs, cache=False)["aec"]
    return out.samples[0].astype(np.float64)


def speex(s: dict, rate: float) -> np.ndarray:
    import speexdsp

    frame = 128
    mic = s["echo"] + s["near"] + s["noise"]
    scale = 0.9 * 32767 / max(np.abs(mic).max(), np.abs(s["far"]).max())
    mic16 = np.round(mic * scale).astype(np.int16)
    far16 = np.round(s["far"] * scale).astype(np.int16)
    canceller = speexdsp.EchoCanceller.create(frame, TAPS, int(rate))
    out = np.zeros(mic.size)
    for i in range(0, mic.size - frame + 1, frame):
        block = canceller.process(mic16[i : i + frame].tobytes(), far16[i : i + frame].tobytes())
        out[i : i + frame] = np.frombuffer(block, dtype=np.int16) / scale
    return out


def main() -> None:
    voices, rate, origin = real_speech(SECONDS)
    far_voice, near_voice = voices.values()
    names = list(voices)
    print(f"far end {names[0]}, near end {names[1]}: {origin}")
    print(f"room: {ROOM}; {TAPS} taps; double talk {DOUBLE_TALK[0]:g}-{DOUBLE_TALK[1]:g} s")
    try:
        import speexdsp  # noqa: F401

        has_speex = True
    except ImportError:
        has_speex = False
        print("speexdsp is not installed: its rows are left out")
    header = (
        f"{'near at mic':>11} {'tool':22} {'ERLE 5-10 s':>11} {'ERLE 18-24 s':>12} {'ERLE DT':>8} "
        f"{'near SNR':>9} {'vs mic':>7} {'x realtime':>10} {'x engine':>8}"
    )
    print(header)
    for near_db in (0.0, 6.0):
        s = scenario(far_voice, near_voice, rate, near_db)
        at_mic = near_snr(s, s["echo"] + s["near"] + s["noise"])
        tools = {f"engine {d}": (engine, d) for d in ("ncc", "geigel", "off", "mdf")}
        if has_speex:
            tools["speex MDF"] = (speex, None)
        base = None
        for name, (fn, detector) in tools.items():
            args = (s, rate) if detector is None else (s, rate, detector)
            out = fn(*args)
            t = seconds_of(lambda f=fn, a=args: f(*a), 2)
            base = base or t
            gain = near_snr(s, out) - at_mic
            print(
                f"{at_mic:11.1f} {name:22} {erle(s, out, 5, 10):11.1f} "
                f"{erle(s, out, 18, 24):12.1f} {erle(s, out, *DOUBLE_TALK):8.1f} "
                f"{near_snr(s, out):9.1f} {gain:+7.1f} "
                f"{SECONDS / t:10.1f} {t / base:8.2f}"
            )


if __name__ == "__main__":
    main()
