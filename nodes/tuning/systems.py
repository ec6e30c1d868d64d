"""Tuning systems: nodes that output a table of frequencies in Hz (port type ``frequencies``).

A tuning is a float64 array of frequencies, indexed from 0. ``notes.scale``
(mode ``"tuning"``), ``notes.from_tuning`` and ``notes.sequence`` (``@n``)
pick notes from it.

Pitches given as strings (``root``, ``reference``) are scientific pitch names
(``"A4"``, ``"C#-1"``, ``"A4+50c"``), ``"midi:69"`` or a number of Hz
(``"440"``, ``"261.63 Hz"``); names are tuned from ``a4_hz`` (440 Hz by
default, e.g. 432).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from graphengine.node import InputPath, Inputs, NodeContext, Params, Pitch, PortInfo, node, param
from graphengine.pitch import DEFAULT_A4_HZ, PitchError, to_hz
from graphengine.types import Frequencies

MAX_STEPS = 1_000_000
_RATIO = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*(?:/\s*(\d+(?:\.\d*)?))?\s*$")
_CENTS = re.compile(r"^\s*([+-]?\d+(?:\.\d*)?)\s*c(?:ents?)?\s*$")
A4 = param(DEFAULT_A4_HZ, unit="Hz", range=(1.0, 20_000.0), description="A4")


def pitch_param(value: str, name: str, a4_hz: float, ctx: NodeContext) -> float:
    """A pitch string converted to Hz, or a ParamError naming the parameter."""
    try:
        hz = to_hz(value, a4_hz)
    except PitchError as error:
        raise ctx.param_error(name, str(error)) from None
    if not 0.0 < hz < math.inf:
        raise ctx.param_error(name, f"must be a positive frequency, got {value!r}")
    return hz


def ratio_param(value: str, name: str, ctx: NodeContext) -> float:
    """``"5/4"``, ``"1.25"`` or ``"386.3c"`` as a frequency ratio, or a ParamError."""
    cents = _CENTS.match(value)
    if cents is not None:
        return 2.0 ** (float(cents[1]) / 1200.0)
    match = _RATIO.match(value)
    if match is not None:
        numerator = float(match[1])
        denominator = float(match[2]) if match[2] is not None else 1.0
        if numerator > 0 and denominator > 0 and math.isfinite(numerator / denominator):
            return numerator / denominator
    raise ctx.param_error(
        name, f"{value!r} is not a positive ratio (like '5/4', '1.25' or '386.3c')"
    )


def _info(count: int) -> dict[str, PortInfo]:
    return {"out": PortInfo("frequencies", (count,), itemsize=8)}


def _finite(hz: np.ndarray, name: str, ctx: NodeContext) -> np.ndarray:
    if not np.all(np.isfinite(hz) & (hz > 0)):
        raise ctx.param_error(name, "reaches frequencies too high or too low for a float")
    return hz


# --------------------------------------------------------------------------- equal


def _equal(params: Mapping[str, Any], ctx: NodeContext) -> np.ndarray:
    reference = pitch_param(params["reference"], "reference", params["a4_hz"], ctx)
    index = np.arange(params["first"], params["first"] + params["count"], dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):
        hz = reference * params["period_ratio"] ** (index / params["divisions"])
    return _finite(hz, "count", ctx)


def infer_equal(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(count,) frequencies."""
    _equal(params, ctx)
    return _info(params["count"])


@node("tuning.equal", version=1, infer=infer_equal)
def equal(
    *,
    divisions: int = param(12, range=(1, 10_000), description="equal steps per period"),
    period_ratio: float = param(
        2.0, above=1, description="the divided interval (2 = octave, 3 = tritave)"
    ),
    reference: str = param("C-1", description="pitch of step 0: a pitch name or Hz"),
    first: int = param(0, description="index of the first step output (0 = reference)"),
    count: int = param(128, range=(1, MAX_STEPS), description="number of steps output"),
    a4_hz: float = A4,
    ctx: NodeContext,
) -> Frequencies:
    """Equal division of the octave (or of any interval) into any number of steps.

    Step ``i`` has the frequency ``reference * period_ratio ** (i / divisions)``
    for ``i`` in ``first .. first + count - 1``: with the defaults, the 128
    notes of twelve-tone equal temperament from C-1 (8.18 Hz, MIDI note 0:
    8.18, 8.66, 9.18, 9.72 Hz, ...). ``divisions = 24`` gives quarter tones
    (ratio 2 ** (1/24)); 19, 31 and 53 are other historical equal
    temperaments; ``period_ratio = 3`` with 13 divisions is the
    Bohlen-Pierce scale. ``reference`` is a pitch name (tuned from ``a4_hz``)
    or a number of Hz as a string (``"3.14 Hz"``); ``first`` may be negative
    to start below it.

    Example
    -------
        quarter_tones = {divisions = 24, reference = "A4", count = 25}
    """
    params = {
        "divisions": divisions,
        "period_ratio": period_ratio,
        "reference": reference,
        "first": first,
        "count": count,
        "a4_hz": a4_hz,
    }
    return Frequencies(_equal(params, ctx))


# --------------------------------------------------------------------------- just


def _just(params: Mapping[str, Any], ctx: NodeContext) -> np.ndarray:
    ratios = params["ratios"]
    if not ratios:
        raise ctx.param_error("ratios", "is empty: give at least one ratio")
    period = ratio_param(params["period"], "period", ctx)
    if period <= 1.0:
        raise ctx.param_error("period", f"{params['period']!r} is not above 1/1")
    values = np.array([ratio_param(r, "ratios", ctx) for r in ratios])
    for text, value in zip(ratios, values, strict=True):
        if not 1.0 <= value < period * (1 - 1e-12):
            raise ctx.param_error(
                "ratios",
                f"{text!r} is outside one period [1/1, {params['period']}); "
                "the period itself is added after the last octave",
            )
    root = pitch_param(params["root"], "root", params["a4_hz"], ctx)
    octaves = np.arange(params["octaves"], dtype=np.float64)
    grid = (period ** octaves[:, np.newaxis]) * values[np.newaxis, :]
    hz = root * np.append(grid.reshape(-1), period ** params["octaves"])
    return _finite(hz, "octaves", ctx)


def infer_just(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(len(ratios) * octaves + 1,) frequencies."""
    return _info(_just(params, ctx).size)


JUST_MAJOR = ["1/1", "9/8", "5/4", "4/3", "3/2", "5/3", "15/8"]


@node("tuning.just", version=1, infer=infer_just)
def just(
    *,
    ratios: list[str] = param(
        JUST_MAJOR, description="ratios within one period: '5/4', '1.25' or '386.3c'"
    ),
    root: str = param("C4", description="pitch of the ratio 1/1: a pitch name or Hz"),
    period: str = param("2/1", description="the interval the pattern repeats at"),
    octaves: int = param(1, range=(1, 1000), description="periods to span"),
    a4_hz: float = A4,
    ctx: NodeContext,
) -> Frequencies:
    """Just intonation: a tuning from a list of frequency ratios above a root.

    Each entry of ``ratios`` is a ratio (``"5/4"``), a decimal (``"1.25"``)
    or cents (``"386.3c"``) within one period: at least 1/1 and below
    ``period`` (``"2/1"``, the octave, by default). The output is the ratios
    in the order given, times ``root``, repeated ``octaves`` times up by
    ``period``, followed by the period above the last repetition: the default
    is the 5-limit just major scale on C4 (C, D 9/8, E 5/4, F 4/3, G 3/2,
    A 5/3, B 15/8, C' 2/1), 8 frequencies.

    Example
    -------
        just = {ratios = ["1/1", "9/8", "5/4", "4/3", "3/2", "5/3", "15/8"], root = "A3"}
    """
    params = {"ratios": ratios, "root": root, "period": period, "octaves": octaves, "a4_hz": a4_hz}
    return Frequencies(_just(params, ctx))


# --------------------------------------------------------------------------- harmonic


def infer_harmonic(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(partials,) frequencies."""
    return _info(params["partials"])


@node("tuning.harmonic", version=1, infer=infer_harmonic)
def harmonic(
    *,
    frequency: Pitch = param(110.0, description="the fundamental, in Hz or a pitch name"),
    partials: int = param(16, range=(1, MAX_STEPS), description="number of harmonics output"),
    first: int = param(
        1, range=(1, None), description="the first harmonic number (1 = fundamental)"
    ),
) -> Frequencies:
    """The harmonic (overtone) series of a fundamental: ``frequency * k``.

    ``k`` runs over ``first .. first + partials - 1``; harmonic 1 is the
    fundamental itself. Any fundamental works, including inaudible ones:
    ``frequency = 3.14`` with ``first = 32`` gives 100.48, 103.62, 106.76 Hz,
    ... ("sonifying pi"). Pitch names are tuned from A4 = 440 Hz.

    Example
    -------
        overtones = {frequency = 3.14, partials = 64, first = 8}
    """
    return Frequencies(frequency * np.arange(first, first + partials, dtype=np.float64))


# --------------------------------------------------------------------------- scala


def _scala(params: Mapping[str, Any], ctx: NodeContext) -> np.ndarray:
    from nodes.tuning.scala import ScalaError, read_scl

    try:
        scale = read_scl(params["path"])
    except ScalaError as error:
        raise ctx.param_error("path", f"bad .scl file: {error}") from None
    except OSError as error:
        message = f"cannot read .scl file: {error.strerror or error}"
        raise ctx.param_error("path", message) from None
    if not scale.cents:
        message = "the .scl file has 0 notes: no period to repeat"
        raise ctx.param_error("path", message)
    period = scale.period_cents
    if period <= 0:
        message = f"the .scl file's last pitch (its period) is {period:g} cents, not above 1/1"
        raise ctx.param_error("path", message)
    n = len(scale.cents)
    count = params["count"] or n + 1
    root = pitch_param(params["root"], "root", params["a4_hz"], ctx)
    degrees = np.concatenate([[0.0], np.asarray(scale.cents[:-1])])
    index = np.arange(params["first"], params["first"] + count)
    octave, degree = np.divmod(index, n)
    cents = octave * period + degrees[degree]
    with np.errstate(over="ignore", under="ignore"):
        hz = root * 2.0 ** (cents / 1200.0)
    return _finite(hz, "count", ctx)


def infer_scala(inputs: Inputs, params: Params, ctx: NodeContext) -> dict[str, PortInfo]:
    """(count,) frequencies; the file is parsed here, so a bad file fails validation."""
    return _info(_scala(params, ctx).size)


@node("tuning.scala", version=1, infer=infer_scala)
def scala(
    *,
    path: InputPath = param(description="the Scala .scl file"),
    root: str = param("C4", description="pitch of step 0 (the 1/1): a pitch name or Hz"),
    first: int = param(0, description="index of the first step output (0 = root)"),
    count: int = param(
        0, range=(0, MAX_STEPS), description="number of steps output; 0: one period, both ends"
    ),
    a4_hz: float = A4,
    ctx: NodeContext,
) -> Frequencies:
    """A tuning read from a Scala ``.scl`` file, the musicians' standard tuning format.

    The file lists the scale's degrees above an implicit 1/1, in cents
    (``386.314``) or as ratios (``5/4``); its last degree is the period
    (usually ``2/1``). Comment lines (``!``) and labels after a pitch are
    ignored; a malformed file fails validation with the line at fault.

    Without a ``.kbm`` keyboard mapping, steps map linearly: step 0 is the
    1/1 at ``root``, steps 1..n-1 the file's degrees, step n the period, and
    the pattern repeats by the period both ways (negative ``first`` goes
    below the root). ``count = 0`` outputs one period with both ends
    (n + 1 frequencies).

    Example
    -------
        meantone = {path = "meantone.scl", root = "C4", count = 13}
    """
    params = {"path": path, "root": root, "first": first, "count": count, "a4_hz": a4_hz}
    return Frequencies(_scala(params, ctx))
