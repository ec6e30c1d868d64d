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
def _dot(weights, reference, start):
    total = 0.0
    for k in range(weights.shape[0]):
        total += weights[k] * reference[start + k]
    return total


@njit(cache=True, nogil=True)
def _nlms_step(weights, reference, start, gain):
    for k in range(weights.shape[0]):
        weights[k] += gain * reference[start + k]


@njit(cache=True, nogil=True)
def nlms_cancel_dtd(
    mic,
    reference,
    weights,
    filters,
    step,
    shadow_step,
    regularization,
    detector,
    threshold,
    hold,
    smoothing,
    slow,
    age,
    block_max,
    out,
    talk,
):
    """NLMS echo cancellation of one channel that freezes adaptation during double talk.

    mic, reference, weights, step, regularization, out : as in ``nlms_cancel``
    filters : float64 (5, taps) scratch for the NCC detector (unused with Geigel): the
        background filter, and the foreground's and background's older and newer snapshots
    shadow_step : the background filter's NLMS step
    detector : 1 Geigel, 2 normalised cross-correlation (NCC)
    threshold : Geigel: |mic| over the largest recent |reference|; NCC: the lowest
        correlation at which the far end alone is assumed
    hold : samples adaptation stays frozen after the detector last fired (hangover)
    smoothing : the one-pole coefficient of the NCC's running correlations and power
    slow : the one-pole coefficient of the error powers compared for a transfer
    age : samples between snapshots (the detector's filters are age to 2 age old)
    block_max : float64 (blocks,) scratch: the largest |reference| of each 64-sample block
        of the Geigel window (its span is taps rounded up to whole blocks)
    talk : uint8 (n,) set to 1 where adaptation was frozen

    Geigel (Duttweiler 1978): the near end talks when |mic[i]| >= threshold
    times the largest |reference| over the echo path's span. NCC (Benesty,
    Morgan and Cho 2000): xi = E[mic y] / E[mic^2], with y an echo estimate,
    is near 1 while the microphone holds echo alone and falls with the near
    end's share of its power; the detector fires below threshold once xi has
    first stayed above it for ``age`` samples (before, the filter is still
    learning and adapts freely). y comes from a snapshot of the filter taken ``age`` to
    ``2 age`` samples earlier: a long filter adapting on near-end speech
    soon fits part of it and would keep xi high, an older copy cannot. A
    background filter adapts always; when its snapshot's error power is
    under half the foreground's and its xi is above threshold, the
    foreground takes those weights (Ochiai's two-path transfer), so a changed
    echo path is learnt although the detector holds the foreground.
    """
    n = mic.shape[0]
    taps = weights.shape[0]
    blocks = block_max.shape[0]
    energy = 0.0
    for k in range(taps):
        energy += reference[k] * reference[k]
    for b in range(blocks):
        block_max[b] = 0.0
    for j in range(taps):
        v = abs(reference[j])
        slot = (j // 64) % blocks
        if v > block_max[slot]:
            block_max[slot] = v
    shadow = filters[0]
    fg_old = filters[1]
    fg_new = filters[2]
    bg_old = filters[3]
    bg_new = filters[4]
    cross = 0.0
    cross_bg = 0.0
    power = 0.0
    error_fg = 0.0
    error_bg = 0.0
    slow_power = 0.0
    streak = 0
    converged = False
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
        estimate = _dot(weights, reference, i)
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
            if i % age == 0:
                for k in range(taps):
                    fg_old[k] = fg_new[k]
                    fg_new[k] = weights[k]
                    bg_old[k] = bg_new[k]
                    bg_new[k] = shadow[k]
            background = _dot(shadow, reference, i)
            _nlms_step(shadow, reference, i, shadow_step * (d - background) / norm)
            y_fg = _dot(fg_old, reference, i)
            y_bg = _dot(bg_old, reference, i)
            cross = smoothing * cross + (1.0 - smoothing) * d * y_fg
            cross_bg = smoothing * cross_bg + (1.0 - smoothing) * d * y_bg
            power = smoothing * power + (1.0 - smoothing) * d * d
            error_fg = slow * error_fg + (1.0 - slow) * error * error
            error_bg = slow * error_bg + (1.0 - slow) * (d - y_bg) * (d - y_bg)
            explained = power > 0.0 and cross >= threshold * power
            streak = streak + 1 if explained else 0
            if streak >= age:
                converged = True
            fired = converged and not explained
            slow_power = slow * slow_power + (1.0 - slow) * d * d
            trusted = (frozen == 0 and not fired) or error_fg > slow_power
            if trusted and error_bg < 0.5 * error_fg and cross_bg >= threshold * power:
                for k in range(taps):
                    weights[k] = bg_old[k]
                    fg_old[k] = bg_old[k]
                    fg_new[k] = bg_old[k]
                error_fg = error_bg
                cross = cross_bg
        if fired:
            frozen = hold
        elif frozen > 0:
            frozen -= 1
        if frozen > 0 or fired:
            talk[i] = 1
            continue
        talk[i] = 0
        _nlms_step(weights, reference, i, step * error / norm)
