"""denoise.echo_cancel with double talk: two speech-like talkers through a synthetic room.

The far end (a low-pitched talker) plays through a 250 ms room response (a
decaying random impulse response, RT60 300 ms, echo 6 dB down) into the
microphone, plus noise 50 dB below the echo. From 8 s to 12 s the near end
(a high-pitched talker) speaks too. ERLE is measured where the far end talks
alone, the near end's SNR (near-end speech against everything else left in
the output) during the double talk.
"""

from __future__ import annotations

import numpy as np
import pytest
from node_harness import make_ctx, run_node
from speechlike import HIGH, LOW, speech_like

from graphengine.types import Audio
from nodes.denoise.enhance import echo_cancel

SR = 8000.0
SECONDS = 16.0
TAPS = 2048
DOUBLE_TALK = (8.0, 12.0)


def room_response(seed: int, length_s: float = 0.25, rt60_s: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = round(length_s * SR)
    h = rng.standard_normal(n) * np.exp(-np.arange(n) / (rt60_s / np.log(1000) * SR))
    h[: round(0.004 * SR)] = 0.0  # 4 ms to the loudspeaker
    return h * 0.5 / np.linalg.norm(h)


def scenario(near_snr_db: float, change_path: bool = False) -> dict[str, np.ndarray]:
    far = speech_like(SECONDS, SR, LOW)
    t = np.arange(far.size) / SR
    talk = (t >= DOUBLE_TALK[0]) & (t < DOUBLE_TALK[1])
    echo = np.convolve(far, room_response(0))[: far.size]
    if change_path:  # someone moves: a new room response from 8 s, no near end
        later = np.convolve(far, room_response(1))[: far.size]
        echo = np.where(t < DOUBLE_TALK[0], echo, later)
        near = np.zeros_like(far)
    else:
        near = speech_like(SECONDS, SR, HIGH, seed=5) * talk
        near *= np.sqrt(np.sum(echo[talk] ** 2) / np.sum(near[talk] ** 2)) * 10 ** (
            near_snr_db / 20
        )
    noise = 10 ** (-50 / 20) * np.std(echo) * np.random.default_rng(9).standard_normal(far.size)
    return {"far": far, "echo": echo, "near": near, "noise": noise, "t": t, "talk": talk}


def cancel(s: dict[str, np.ndarray], **params) -> np.ndarray:
    mic = Audio(s["echo"] + s["near"] + s["noise"], SR)
    out = run_node(
        echo_cancel,
        make_ctx("denoise.echo_cancel", SR),
        mic,
        Audio(s["far"], SR),
        taps=TAPS,
        **params,
    )
    return out.samples[0].astype(np.float64)


def erle_db(s: dict[str, np.ndarray], out: np.ndarray, start: float, end: float) -> float:
    part = (s["t"] >= start) & (s["t"] < end)
    residual = out - s["near"] - s["noise"]
    return float(10 * np.log10(np.sum(s["echo"][part] ** 2) / np.sum(residual[part] ** 2)))


def near_snr(s: dict[str, np.ndarray], out: np.ndarray) -> float:
    talk = s["talk"]
    return float(10 * np.log10(np.sum(s["near"][talk] ** 2) / np.sum((out - s["near"])[talk] ** 2)))


@pytest.mark.parametrize("detector", ["ncc", "geigel"])
@pytest.mark.parametrize("near_db", [0.0, 6.0])
def test_double_talk_keeps_the_near_end_and_far_end_only_erle_stays_20_db(detector, near_db):
    s = scenario(near_db)
    mic = s["echo"] + s["near"] + s["noise"]
    assert near_snr(s, mic) == pytest.approx(near_db, abs=0.01)
    out = cancel(s, double_talk=detector)
    assert erle_db(s, out, 4.0, 8.0) >= 20.0  # far end alone, converged
    assert erle_db(s, out, 13.0, 16.0) >= 20.0  # far end alone again, after the double talk
    margin = 12.0 if detector == "ncc" else 6.0
    assert near_snr(s, out) >= near_db + margin
    plain = cancel(s, double_talk="off")
    assert near_snr(s, out) > near_snr(s, plain) + 3.0
    assert erle_db(s, out, 12.0, 16.0) > erle_db(s, plain, 12.0, 16.0)


def test_ncc_still_learns_the_start_and_a_changed_path():
    s = scenario(0.0, change_path=True)
    out, plain = cancel(s), cancel(s, double_talk="off")
    # slower than adapting always (the detector holds the foreground until the background's
    # snapshot explains the new path), but it gets there: no deadlock
    for start, slack in ((0.0, 3.5), (2.0, 3.5), (12.0, 7.0), (14.0, 1.0)):
        assert erle_db(s, out, start, start + 2) >= erle_db(s, plain, start, start + 2) - slack
    assert erle_db(s, out, 14.0, 16.0) >= 20.0


def test_off_is_the_plain_nlms_recursion():
    rng = np.random.default_rng(2)
    far = rng.standard_normal(1500)
    mic = np.convolve(far, [0.0, 0.4, -0.2, 0.1])[:1500] + 0.1 * rng.standard_normal(1500)
    taps, mu, delta = 16, 0.7, 1e-3
    w = np.zeros(taps)  # w[k] weighs far[i - k]
    expected = np.empty(1500)
    for i in range(1500):
        x = np.array([far[i - k] if i >= k else 0.0 for k in range(taps)])
        e = mic[i] - w @ x
        expected[i] = e
        w += mu * e * x / (delta + x @ x)
    out = run_node(
        echo_cancel,
        make_ctx("denoise.echo_cancel"),
        Audio(mic, 44100.0),
        Audio(far, 44100.0),
        taps=taps,
        step=mu,
        regularization=delta,
        double_talk="off",
    )
    np.testing.assert_allclose(out.samples[0], expected, atol=1e-6)


@pytest.mark.parametrize("near_db", [0.0, 6.0])
def test_mdf_keeps_the_near_end_and_the_echo_20_db_down_through_double_talk(near_db):
    s = scenario(near_db)
    out = cancel(s, algorithm="mdf")
    assert erle_db(s, out, 4.0, 8.0) >= 20.0  # far end alone, converged
    assert erle_db(s, out, *DOUBLE_TALK) >= 20.0  # the echo under the near end's speech
    assert erle_db(s, out, 13.0, 16.0) >= 20.0  # far end alone again
    assert near_snr(s, out) >= near_db + 15.0


def test_mdf_learns_a_changed_path():
    s = scenario(0.0, change_path=True)
    out = cancel(s, algorithm="mdf")
    assert erle_db(s, out, 6.0, 8.0) >= 20.0
    assert erle_db(s, out, 14.0, 16.0) >= 15.0  # 8 s after the change (19 dB measured)
