"""effect.flanger: a short LFO-swept delay with feedback, mixed with the dry signal."""

from __future__ import annotations

from graphengine.node import node, param
from nodes.effect._modulation import (
    ModulatedDelay,
    centre_param,
    rate_param,
    swing_param,
)


@node("effect.flanger", version=1)
class Flanger(ModulatedDelay):
    """Flanger: a comb filter whose teeth sweep, from a short modulated delay with feedback.

    Channel c reads the delay line ``d(t) = delay_ms + depth_ms *
    lfo(rate_hz * t + (phase_deg + c * stereo_phase_deg) / 360)`` back
    (``lfo``: a sine or triangle of peak 1 rising through 0 at phase 0); the
    delayed signal is fed back into the line scaled by ``feedback``
    (negative values put the notches where positive ones put peaks), and
    the output is ``(1 - mix) * dry + mix * delayed``. At ``mix = 0.5`` and
    no feedback the notches are complete, at multiples of ``1 / d``
    shifted by half. Delays are read by 4-point cubic Lagrange
    interpolation; delays below two frames are read at two. The output is
    as long as the input. The per-sample loop is a numba kernel
    (``nodes/effect/_modulation_kernels.py``).

    Example
    -------
        jet = {in = "src", rate_hz = 0.25, depth_ms = 2.0, delay_ms = 3.0, feedback = 0.6}
    """

    rate_hz: float = rate_param(0.25)
    depth_ms: float = swing_param(2.0, 20.0)
    delay_ms: float = centre_param(3.0, 30.0)
    feedback: float = param(0.5, range=(-0.95, 0.95), description="share of the delay fed back")
    mix: float = param(0.5, range=(0.0, 1.0), description="wet share: 0 dry only, 1 wet only")


flanger = Flanger
