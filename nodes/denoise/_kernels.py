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


@njit(cache=True, nogil=True)
def nlms_cancel_dtd(
    mic,
    reference,
    weights,
    shadow,
    step,
    regularization,
    detector,
    threshold,
    hold,
    smoothing,
    slow,
    block_max,
    out,
    talk,
):
    """NLMS echo cancellation of one channel that freezes adaptation during double talk.

    mic, reference, weights, step, regularization, out : as in ``nlms_cancel``
    shadow : float64 (taps,) the background filter of the NCC detector (updated in place;
        unused, may be empty, with the Geigel detector)
    detector : 1 Geigel, 2 normalised cross-correlation (NCC)
    threshold : Geigel: |mic| over the largest recent |reference|; NCC: the lowest
        correlation at which the far end alone is assumed
    hold : samples adaptation stays frozen after the detector last fired (hangover)
    smoothing : the one-pole coefficient of the NCC's running correlation and power
    slow : the one-pole coefficient of the error powers compared for a transfer
    block_max : float64 (blocks,) scratch: the largest |reference| of each 64-sample block
        of the Geigel window (its span is taps rounded up to whole blocks)
    talk : uint8 (n,) set to 1 where adaptation was frozen

    Geigel (Duttweiler 1978): the near end talks when |mic[i]| >= threshold
    times the largest |reference| over the echo path's span. NCC (Benesty,
    Morgan and Cho 2000): the background filter adapts always; xi = E[mic y_b]
    / E[mic^2], with y_b its echo estimate, is near 1 while the microphone
    holds echo alone and falls with the near end's share of its power.
    Whenever the background filter's error power is below half the
    foreground's, the foreground takes its weights (Ochiai's two-path
    transfer: during double talk the background's error holds the near end
    too, so it is not), so a start or a changed echo path is learnt while
    the detector still holds the foreground.
    """
    n = mic.shape[0]
    taps = weights.shape[0]
    blocks = block_max.shape[0]
    energy = 0.0
    for k in range(taps):
        energy += reference[k] * reference[k]
    for b in range(blocks):
        block_max[b] = 0.0
    # the Geigel window: the blocks holding reference[i + taps - 1 - span .. i + taps - 1]
    for j in range(taps):
        v = abs(reference[j])
        slot = (j // 64) % blocks
        if v > block_max[slot]:
            block_max[slot] = v
    cross = 0.0
    power = 0.0
    error_fg = 0.0
    error_bg = 0.0
    frozen = 0
    for i in range(n):
        newest = i + taps - 1
        if i > 0:
            new = reference[newest]
            old = reference[i - 1]
            energy += new * new - old * old
            if energy < 0.0:
                energy = 0.0
            if detector == 1:
                slot = (newest // 64) % blocks
                if newest % 64 == 0:
                    block_max[slot] = 0.0
                if abs(new) > block_max[slot]:
                    block_max[slot] = abs(new)
        estimate = 0.0
        for k in range(taps):
            estimate += weights[k] * reference[i + k]
        d = mic[i]
        error = d - estimate
        out[i] = error
        norm = regularization + energy
        fired = False
        if detector == 1:
            largest = 0.0
            for b in range(blocks):
                if block_max[b] > largest:
                    largest = block_max[b]
            fired = abs(d) >= threshold * largest
        else:
            background = 0.0
            for k in range(taps):
                background += shadow[k] * reference[i + k]
            error_b = d - background
            gain_b = step * error_b / norm
            for k in range(taps):
                shadow[k] += gain_b * reference[i + k]
            cross = smoothing * cross + (1.0 - smoothing) * d * background
            power = smoothing * power + (1.0 - smoothing) * d * d
            error_fg = slow * error_fg + (1.0 - slow) * error * error
            error_bg = slow * error_bg + (1.0 - slow) * error_b * error_b
            fired = cross < threshold * power
        if fired:
            frozen = hold
        elif frozen > 0:
            frozen -= 1
        if detector == 2 and error_bg < 0.5 * error_fg:
            for k in range(taps):
                weights[k] = shadow[k]
            error_fg = error_bg
        if frozen > 0 or fired:
            talk[i] = 1
            continue
        talk[i] = 0
        gain = step * error / norm
        for k in range(taps):
            weights[k] += gain * reference[i + k]
