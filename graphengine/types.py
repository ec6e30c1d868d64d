"""Port types: the typed values that flow along a graph's edges.

Each value class names its port type (``Audio.port_type == "audio"``), checks
and normalises its arrays on construction, and converts to and from plain
named arrays plus JSON metadata, which is all the cache stores (never pickle).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

Arrays = dict[str, np.ndarray]


def _names(names: Any) -> tuple[str, ...]:
    return tuple(str(n) for n in (names or ()))


@dataclass(frozen=True, eq=False, repr=False)
class Value:
    """Base of all port values."""

    port_type: ClassVar[str] = "any"

    def to_arrays(self) -> tuple[Arrays, dict]:
        """Split into named arrays and JSON-serialisable metadata."""
        raise NotImplementedError

    @classmethod
    def from_arrays(cls, arrays: Arrays, meta: dict) -> Value:
        """Rebuild a value from :meth:`to_arrays` output."""
        raise NotImplementedError

    @property
    def primary(self) -> np.ndarray:
        """The value's main array (what ``sink.npy`` writes)."""
        return next(iter(self.to_arrays()[0].values()))

    @property
    def nbytes(self) -> int:
        """Bytes held by the value's arrays."""
        return sum(a.nbytes for a in self.to_arrays()[0].values())

    def __repr__(self) -> str:
        """One short line (``display.<port type>_repr``), never the arrays themselves."""
        from graphengine import display

        describe = getattr(display, f"{self.port_type}_repr", None)
        return describe(self) if describe is not None else f"{type(self).__name__}()"

    def _repr_html_(self) -> str | None:
        """A notebook view (player, picture) where ``display`` has one for the port type."""
        from graphengine import display

        html = getattr(display, f"{self.port_type}_html", None)
        return html(self) if html is not None else None


@dataclass(frozen=True, eq=False, repr=False)
class Audio(Value):
    """Audio samples, float32 shaped (channels, frames), C-contiguous.

    Parameters
    ----------
    samples : array_like
        Shaped (channels, frames); a 1-D array is taken as one channel.
    sample_rate : float > 0
        Samples per second, in Hz.
    """

    samples: np.ndarray
    sample_rate: float
    port_type: ClassVar[str] = "audio"

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples)
        if samples.ndim == 1:
            samples = samples[np.newaxis, :]
        if samples.ndim != 2:
            raise ValueError(f"audio must be shaped (channels, frames), got shape {samples.shape}")
        if not np.issubdtype(samples.dtype, np.number) or np.iscomplexobj(samples):
            raise ValueError(f"audio samples must be real numbers, got dtype {samples.dtype}")
        object.__setattr__(self, "samples", np.ascontiguousarray(samples, dtype=np.float32))
        if not np.isfinite(self.sample_rate) or self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive number of Hz, got {self.sample_rate}")
        object.__setattr__(self, "sample_rate", float(self.sample_rate))

    @property
    def channels(self) -> int:
        return self.samples.shape[0]

    @property
    def frames(self) -> int:
        return self.samples.shape[1]

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    def with_samples(self, samples: np.ndarray) -> Audio:
        """The same sample rate with new samples."""
        return Audio(samples, self.sample_rate)

    def to_arrays(self) -> tuple[Arrays, dict]:
        return {"samples": self.samples}, {"sample_rate": self.sample_rate}

    @classmethod
    def from_arrays(cls, arrays: Arrays, meta: dict) -> Audio:
        return cls(arrays["samples"], meta["sample_rate"])


@dataclass(frozen=True, eq=False, repr=False)
class Spectrum(Value):
    """A complex STFT shaped (channels, bins, frames) with its analysis settings.

    ``center``: frame k is centred on sample k * hop (the signal was padded by
    n_fft // 2); otherwise frame k starts there.
    """

    data: np.ndarray
    n_fft: int
    hop: int
    window: str
    sample_rate: float
    center: bool = True
    port_type: ClassVar[str] = "spectrum"

    def __post_init__(self) -> None:
        data = np.asarray(self.data)
        if data.ndim == 2:
            data = data[np.newaxis]
        if data.ndim != 3:
            raise ValueError(f"spectrum must be shaped (channels, bins, frames), got {data.shape}")
        if data.shape[1] != self.n_fft // 2 + 1:
            raise ValueError(
                f"a spectrum of n_fft {self.n_fft} has n_fft // 2 + 1 = {self.n_fft // 2 + 1} "
                f"bins, got {data.shape[1]}"
            )
        object.__setattr__(self, "data", np.ascontiguousarray(data, dtype=np.complex64))

    def to_arrays(self) -> tuple[Arrays, dict]:
        meta = {
            "n_fft": int(self.n_fft),
            "hop": int(self.hop),
            "window": self.window,
            "sample_rate": float(self.sample_rate),
            "center": bool(self.center),
        }
        return {"data": self.data}, meta

    @classmethod
    def from_arrays(cls, arrays: Arrays, meta: dict) -> Spectrum:
        return cls(arrays["data"], **meta)


@dataclass(frozen=True, eq=False, repr=False)
class Features(Value):
    """Frame-rate signals, float32 shaped (channels, n, frames), one name per row."""

    values: np.ndarray
    frame_rate: float
    names: tuple[str, ...] = ()
    port_type: ClassVar[str] = "features"

    def __post_init__(self) -> None:
        values = np.asarray(self.values)
        if values.ndim == 2:
            values = values[np.newaxis]
        if values.ndim != 3:
            raise ValueError(f"features must be shaped (channels, n, frames), got {values.shape}")
        object.__setattr__(self, "values", np.ascontiguousarray(values, dtype=np.float32))
        object.__setattr__(self, "names", _names(self.names))

    def to_arrays(self) -> tuple[Arrays, dict]:
        return {"values": self.values}, {
            "frame_rate": float(self.frame_rate),
            "names": list(self.names),
        }

    @classmethod
    def from_arrays(cls, arrays: Arrays, meta: dict) -> Features:
        return cls(arrays["values"], meta["frame_rate"], tuple(meta["names"]))


@dataclass(frozen=True, eq=False, repr=False)
class Vector(Value):
    """A float32 1-D vector with optional names (summaries, model inputs)."""

    values: np.ndarray
    names: tuple[str, ...] = ()
    port_type: ClassVar[str] = "vector"

    def __post_init__(self) -> None:
        values = np.ascontiguousarray(np.asarray(self.values, dtype=np.float32).reshape(-1))
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "names", _names(self.names))

    def to_arrays(self) -> tuple[Arrays, dict]:
        return {"values": self.values}, {"names": list(self.names)}

    @classmethod
    def from_arrays(cls, arrays: Arrays, meta: dict) -> Vector:
        return cls(arrays["values"], tuple(meta["names"]))


@dataclass(frozen=True, eq=False, repr=False)
class Image(Value):
    """A float32 image in [0, 1], (rows, columns) or (rows, columns, colours); row 0 is the top."""

    pixels: np.ndarray
    port_type: ClassVar[str] = "image"

    def __post_init__(self) -> None:
        pixels = np.asarray(self.pixels, dtype=np.float32)
        if pixels.ndim not in (2, 3):
            raise ValueError(f"image must be 2-D (or 3-D with colours), got shape {pixels.shape}")
        object.__setattr__(self, "pixels", np.ascontiguousarray(np.clip(pixels, 0.0, 1.0)))

    def to_arrays(self) -> tuple[Arrays, dict]:
        return {"pixels": self.pixels}, {}

    @classmethod
    def from_arrays(cls, arrays: Arrays, meta: dict) -> Image:
        return cls(arrays["pixels"])


@dataclass(frozen=True, eq=False, repr=False)
class Notes(Value):
    """Note events: onset and duration in seconds, frequency in Hz, velocity in [0, 1]."""

    onset_s: np.ndarray
    duration_s: np.ndarray
    frequency_hz: np.ndarray
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(0))
    port_type: ClassVar[str] = "notes"

    def __post_init__(self) -> None:
        onset = np.asarray(self.onset_s, dtype=np.float64).reshape(-1)
        n = onset.size
        arrays = {"onset_s": onset}
        for name in ("duration_s", "frequency_hz"):
            arrays[name] = np.asarray(getattr(self, name), dtype=np.float64).reshape(-1)
        velocity = np.asarray(self.velocity, dtype=np.float64).reshape(-1)
        arrays["velocity"] = velocity if velocity.size else np.ones(n)
        for name, array in arrays.items():
            if array.size != n:
                raise ValueError(f"notes: {name} has {array.size} entries, onset_s has {n}")
            object.__setattr__(self, name, array)

    @property
    def primary(self) -> np.ndarray:
        """Shaped (notes, 4): onset_s, duration_s, frequency_hz, velocity per row."""
        return np.stack([self.onset_s, self.duration_s, self.frequency_hz, self.velocity], axis=1)

    def to_arrays(self) -> tuple[Arrays, dict]:
        names = ("onset_s", "duration_s", "frequency_hz", "velocity")
        return {name: getattr(self, name) for name in names}, {}

    @classmethod
    def from_arrays(cls, arrays: Arrays, meta: dict) -> Notes:
        return cls(**arrays)


@dataclass(frozen=True, eq=False, repr=False)
class Frequencies(Value):
    """A float64 1-D array of frequencies in Hz (a tuning system)."""

    hz: np.ndarray
    port_type: ClassVar[str] = "frequencies"

    def __post_init__(self) -> None:
        object.__setattr__(self, "hz", np.asarray(self.hz, dtype=np.float64).reshape(-1))

    def to_arrays(self) -> tuple[Arrays, dict]:
        return {"hz": self.hz}, {}

    @classmethod
    def from_arrays(cls, arrays: Arrays, meta: dict) -> Frequencies:
        return cls(arrays["hz"])


@dataclass(frozen=True, eq=False, repr=False)
class Prediction(Value):
    """Class probabilities, float32 shaped (classes,) or (items, classes), with class names."""

    probabilities: np.ndarray
    classes: tuple[str, ...] = ()
    port_type: ClassVar[str] = "prediction"

    def __post_init__(self) -> None:
        probabilities = np.ascontiguousarray(np.asarray(self.probabilities, dtype=np.float32))
        object.__setattr__(self, "probabilities", probabilities)
        object.__setattr__(self, "classes", _names(self.classes))

    def to_arrays(self) -> tuple[Arrays, dict]:
        return {"probabilities": self.probabilities}, {"classes": list(self.classes)}

    @classmethod
    def from_arrays(cls, arrays: Arrays, meta: dict) -> Prediction:
        return cls(arrays["probabilities"], tuple(meta["classes"]))


# --------------------------------------------------------------------------- subbands
# Multi-rate decompositions (wavelet transforms, filter banks): bands of different lengths.


@dataclass(frozen=True, eq=False, repr=False)
class Subbands(Value):
    """A signal split into bands sampled at different rates: a wavelet or filter-bank decomposition.

    Parameters
    ----------
    bands : sequence of array_like
        One float64 array per band, each shaped (channels, length of that
        band); all bands have the same channels. Ordered as the transform
        orders them (a wavelet decomposition: coarsest approximation first,
        then details from coarse to fine, as ``pywt.wavedec``).
    names : sequence of str
        One per band (``"a5"``, ``"d5"``, ..., ``"d1"``).
    rates : sequence of float > 0
        Coefficients per second of each band, in Hz.
    frames : int >= 0
        Length in samples of the signal that was decomposed (what an inverse
        transform gives back).
    sample_rate : float > 0
        That signal's sample rate, in Hz.
    transform : dict
        JSON-serialisable description of the transform that made the bands,
        with at least ``"kind"`` (e.g. ``{"kind": "dwt", "wavelet": "db4",
        "mode": "symmetric"}``): what an inverse needs to know.

    Validation describes a ``subbands`` port by the signal it decomposes:
    ``PortInfo.shape`` is ``(channels, frames)`` of that signal (the bands
    hold about as many values, float64).
    """

    bands: tuple[np.ndarray, ...]
    names: tuple[str, ...]
    rates: tuple[float, ...]
    frames: int
    sample_rate: float
    transform: dict = field(default_factory=dict)
    port_type: ClassVar[str] = "subbands"

    def __post_init__(self) -> None:
        bands = []
        for band in self.bands:
            array = np.asarray(band)
            if array.ndim == 1:
                array = array[np.newaxis, :]
            if array.ndim != 2 or np.iscomplexobj(array):
                raise ValueError(f"each band must be real, shaped (channels, n), got {array.shape}")
            bands.append(np.ascontiguousarray(array, dtype=np.float64))
        if len({b.shape[0] for b in bands}) > 1:
            raise ValueError(f"bands differ in channels: {[b.shape[0] for b in bands]}")
        names, rates = _names(self.names), tuple(float(r) for r in self.rates)
        if not (len(names) == len(rates) == len(bands)):
            raise ValueError(f"{len(bands)} bands need as many names and rates")
        if not np.isfinite(self.sample_rate) or self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive number of Hz, got {self.sample_rate}")
        if "kind" not in self.transform:
            raise ValueError("transform must name its kind")
        object.__setattr__(self, "bands", tuple(bands))
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "frames", int(self.frames))
        object.__setattr__(self, "sample_rate", float(self.sample_rate))
        object.__setattr__(self, "transform", dict(self.transform))

    @property
    def channels(self) -> int:
        return self.bands[0].shape[0] if self.bands else 0

    def band(self, name: str) -> np.ndarray:
        """The band called ``name``, (channels, n)."""
        return self.bands[self.names.index(name)]

    @property
    def primary(self) -> np.ndarray:
        """All bands side by side in their order, (channels, total coefficients)."""
        return np.concatenate(self.bands, axis=1)

    def to_arrays(self) -> tuple[Arrays, dict]:
        arrays = {f"band{i}": band for i, band in enumerate(self.bands)}
        meta = {
            "names": list(self.names),
            "rates": list(self.rates),
            "frames": self.frames,
            "sample_rate": self.sample_rate,
            "transform": self.transform,
        }
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: Arrays, meta: dict) -> Subbands:
        bands = tuple(arrays[f"band{i}"] for i in range(len(meta["names"])))
        return cls(
            bands,
            tuple(meta["names"]),
            tuple(meta["rates"]),
            meta["frames"],
            meta["sample_rate"],
            meta["transform"],
        )

    def __repr__(self) -> str:
        described = " ".join(f"{k} {v}" for k, v in self.transform.items())
        return (
            f"Subbands({self.channels} ch, {len(self.bands)} bands {' '.join(self.names)}, "
            f"{self.frames} frames, {self.sample_rate:g} Hz, {described})"
        )


PORT_TYPES: dict[str, type[Value]] = {
    cls.port_type: cls
    for cls in (Audio, Spectrum, Features, Vector, Image, Notes, Frequencies, Prediction, Subbands)
}
"""Port type name -> value class; ``any`` (the base :class:`Value`) accepts all."""

ANY = "any"


def port_type_of(annotation: Any) -> str:
    """The port type name of a value class used as an annotation."""
    if isinstance(annotation, type) and issubclass(annotation, Value):
        return annotation.port_type
    raise TypeError(f"{annotation!r} is not a port type")


def compatible(source: str, target: str) -> bool:
    """Whether an output of type ``source`` may feed an input of type ``target``."""
    return source == target or target == ANY


def decode(port_type: str, arrays: Arrays, meta: dict) -> Value:
    """Rebuild a value of ``port_type`` from cached arrays and metadata."""
    return PORT_TYPES[port_type].from_arrays(arrays, meta)


# ----------------------------------------------------------------------------- constant-Q spectra


@dataclass(frozen=True, eq=False, repr=False)
class ConstantQ(Value):
    """A complex constant-Q (or variable-Q) transform shaped (channels, bins, frames).

    Bin k is centred on ``fmin_hz * 2 ** (k / bins_per_octave)`` Hz (already
    tuned); frame k is centred on sample ``k * hop``. Its own port type, not a
    ``spectrum``: the STFT consumers (istft, mel, the spectral features)
    assume linearly spaced bins and cannot read it.
    """

    data: np.ndarray
    hop: int
    sample_rate: float
    fmin_hz: float
    bins_per_octave: int
    port_type: ClassVar[str] = "cqt"

    def __post_init__(self) -> None:
        data = np.asarray(self.data)
        if data.ndim == 2:
            data = data[np.newaxis]
        if data.ndim != 3:
            raise ValueError(
                f"a constant-Q transform is (channels, bins, frames), got {data.shape}"
            )
        if not (self.fmin_hz > 0 and self.bins_per_octave > 0 and self.hop > 0):
            raise ValueError("a constant-Q transform needs fmin_hz, bins_per_octave and hop > 0")
        object.__setattr__(self, "data", np.ascontiguousarray(data, dtype=np.complex64))

    @property
    def frequencies_hz(self) -> np.ndarray:
        """Centre frequency of each bin in Hz (geometric: bins_per_octave per doubling)."""
        k = np.arange(self.data.shape[1], dtype=np.float64)
        return self.fmin_hz * 2.0 ** (k / self.bins_per_octave)

    @property
    def frame_rate(self) -> float:
        return float(self.sample_rate) / float(self.hop)

    def to_arrays(self) -> tuple[Arrays, dict]:
        meta = {
            "hop": int(self.hop),
            "sample_rate": float(self.sample_rate),
            "fmin_hz": float(self.fmin_hz),
            "bins_per_octave": int(self.bins_per_octave),
        }
        return {"data": self.data}, meta

    @classmethod
    def from_arrays(cls, arrays: Arrays, meta: dict) -> ConstantQ:
        return cls(arrays["data"], **meta)

    def __repr__(self) -> str:
        channels, bins, frames = self.data.shape
        top = self.frequencies_hz[-1] if bins else self.fmin_hz
        return (
            f"ConstantQ({channels} ch, {bins} bins {self.fmin_hz:.4g}-{top:.4g} Hz, "
            f"{self.bins_per_octave}/octave, {frames} frames, hop {self.hop}, "
            f"{self.sample_rate:g} Hz)"
        )


PORT_TYPES[ConstantQ.port_type] = ConstantQ
