"""Numba kernels of the enhancement nodes: the NLMS adaptive echo canceller."""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def nlms_cancel(mic, reference, weights, step, regularization, out):
    """Normalised LMS echo cancellation of one channel.

    mic : float64 (n,) the microphone signal (near end plus echo)
    reference : float64 (n + taps - 1,) the far-end signal with taps - 1 zeros in front
    weights : float64 (taps,) the echo-path estimate, time-reversed, updated in place
    step : the NLMS step size mu in (0, 2)
    regularization : added to the regressor's energy (keeps the update finite in silence)
    out : float64 (n,) the error signal: the microphone with the estimated echo removed

    At sample i the regressor is ``reference[i : i + taps]`` (oldest first), so
    ``weights[taps - 1 - k]`` is the echo path's tap k. Its energy is kept as a
    running sum (one add and one subtract per sample).
    """
    n = mic.shape[0]
    taps = weights.shape[0]
    energy = 0.0
    for k in range(taps):
        energy += reference[k] * reference[k]
    for i in range(n):
        if i > 0:
            new = reference[i + taps - 1]
            old = reference[i - 1]
            energy += new * new - old * old
            if energy < 0.0:
                energy = 0.0
        estimate = 0.0
        for k in range(taps):
            estimate += weights[k] * reference[i + k]
        error = mic[i] - estimate
        out[i] = error
        gain = step * error / (regularization + energy)
        for k in range(taps):
            weights[k] += gain * reference[i + k]
