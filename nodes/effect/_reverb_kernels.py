"""Numba kernels of the reverbs: the Freeverb tank, and the spectral sum of partitioned convolution.

Every kernel takes arrays and scalars only, allocates nothing and updates its
state arrays in place, so a signal processed in blocks of any size gives the
same samples as one pass over the whole of it.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def freeverb_block(
    x,
    out,
    predelay,
    predelay_pos,
    comb_buf,
    comb_len,
    comb_pos,
    comb_store,
    ap_buf,
    ap_len,
    ap_pos,
    tank_out,
    input_gain,
    feedback,
    damp,
    allpass_feedback,
    wet_direct,
    wet_cross,
    dry,
):
    """Freeverb (Jezar at Dreampoint, 2000) over one block.

    x, out : float32 (channels, n) input and output (may not alias)
    predelay : float32 (p,) ring buffer of the pre-delay (p = 0: none); predelay_pos : int64 (1,)
    comb_buf : float32 (tanks, 8, max_len); comb_len, comb_pos : int64 (tanks, 8)
    comb_store : float32 (tanks, 8), the one-pole lowpass state inside each comb's loop
    ap_buf : float32 (tanks, 4, max_len); ap_len, ap_pos : int64 (tanks, 4)
    tank_out : float32 (tanks,) scratch
    The tanks' input is the channels' mean times ``input_gain``; output channel c
    is ``dry * x[c] + wet_direct * tank[c] + wet_cross * tank[partner]`` where
    the partner of a stereo channel is the other one (for other layouts,
    wet_cross must be 0).
    """
    channels, n = x.shape
    tanks = comb_buf.shape[0]
    p = predelay.shape[0]
    for i in range(n):
        s = 0.0
        for c in range(channels):
            s += x[c, i]
        s = s / channels * input_gain
        if p > 0:
            k = predelay_pos[0]
            delayed = predelay[k]
            predelay[k] = s
            k += 1
            if k == p:
                k = 0
            predelay_pos[0] = k
            s = delayed
        for t in range(tanks):
            acc = 0.0
            for j in range(8):
                k = comb_pos[t, j]
                y = comb_buf[t, j, k]
                store = y * (1.0 - damp) + comb_store[t, j] * damp
                if abs(store) < 1e-25:  # flush what would decay into denormals (slow on x86)
                    store = 0.0
                comb_store[t, j] = store
                comb_buf[t, j, k] = s + store * feedback
                k += 1
                if k == comb_len[t, j]:
                    k = 0
                comb_pos[t, j] = k
                acc += y
            for j in range(4):
                k = ap_pos[t, j]
                buffered = ap_buf[t, j, k]
                kept = acc + buffered * allpass_feedback
                if abs(kept) < 1e-25:
                    kept = 0.0
                ap_buf[t, j, k] = kept
                acc = buffered - acc
                k += 1
                if k == ap_len[t, j]:
                    k = 0
                ap_pos[t, j] = k
            tank_out[t] = acc
        for c in range(channels):
            partner = c
            if channels == 2:
                partner = 1 - c
            t = c % tanks
            u = partner % tanks
            out[c, i] = dry * x[c, i] + wet_direct * tank_out[t] + wet_cross * tank_out[u]


@njit(cache=True, nogil=True)
def fdl_mac(fdl, newest, spectra, first, out):
    """Multiply-accumulate a frequency-domain delay line with partition spectra.

    fdl : complex128 (slots, cx, bins) ring of input spectra, ``newest`` its latest slot
    spectra : complex128 (partitions, ch, bins), one spectrum per response partition
    out : complex128 (channels, bins), set to the sum over k >= ``first`` of
    ``fdl[newest - (k - first)] * spectra[k]`` (slots modulo their count); a
    one-channel fdl or spectra is used for every output channel.
    One pass without temporaries: about twice numpy's ``out += a * b`` loop.
    """
    slots = fdl.shape[0]
    cx = fdl.shape[1]
    ch = spectra.shape[1]
    channels, bins = out.shape
    for c in range(channels):
        a = c if cx > 1 else 0
        b = c if ch > 1 else 0
        for f in range(bins):
            out[c, f] = 0.0
        for k in range(first, spectra.shape[0]):
            slot = (newest - (k - first)) % slots
            for f in range(bins):
                out[c, f] += fdl[slot, a, f] * spectra[k, b, f]
