"""A labelled set of real recordings for the model benchmarks, built outside the repository.

Ten classes of 1.5 s mono clips at 16 kHz, cut from sampled instruments
that Debian ships (both packages are free to redistribute):

- ``freepats`` (GPL-2+ with a composition exception): Gravis UltraSound
  patches of recorded instruments. Eight General MIDI families, each from
  several instruments: ``keyboard`` (programs 0-7: pianos, harpsichord,
  clavinet), ``mallet`` (8-15), ``organ`` (16-23), ``guitar`` (24-31),
  ``bass`` (32-39), ``strings`` (40-46, 48), ``brass`` (56-63), ``woodwind``
  (64-79: reeds and pipes). A clip is one recorded sample of a patch
  played as a sampler plays it: looped over its loop points where it has
  them, at a pitch within the keys it is mapped to, released with a fade.
- ``hydrogen-drumkits`` (GPL-2, CC-BY, CC-BY-SA, CC0 per kit): one-shot
  hits of acoustic drum kits, sorted by the instrument names of each kit's
  ``drumkit.xml`` into ``drums`` (kick, snare, toms) and ``cymbals``
  (hi-hats, crash, ride, splash, china), padded with silence.

Every clip records its *source* (the ``group`` column): the patch file, or the kit. The split is
made over sources, never over clips: per class, whole sources go to the
test split (seeded) until it holds about ``test_fraction`` of the class's
clips, so no instrument or kit is heard in both training and test. The
test set asks for instruments the model has never heard.

    python benchmarks/model_data.py [OUT] [--per-class 48] [--seed 0]

writes ``OUT/<class>/<source>_NN.wav`` and ``OUT/labels.csv``
(``path,label,split,group``; what ``graphengine train --labels`` reads).
OUT defaults to ``$GRAPHENGINE_BENCH_DATA/real-instruments`` (see
benchmarks/debian_data.py); the packages are fetched once with ``apt-get
download``. Same arguments, same clips, byte for byte.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import shutil
import struct
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import scipy.signal as sps
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))

from debian_data import data_folder, package_root

SAMPLE_RATE = 16000
CLIP_S = 1.5
FREEPATS = "usr/share/midi/freepats/Tone_000"
DRUMKITS = "usr/share/hydrogen/data/drumkits"
FAMILIES = {
    "keyboard": range(0, 8),
    "mallet": range(8, 16),
    "organ": range(16, 24),
    "guitar": range(24, 32),
    "bass": range(32, 40),
    "strings": (*range(40, 47), 48),  # not 47, timpani
    "brass": range(56, 64),
    "woodwind": range(64, 80),
}
"""General MIDI program numbers of each freepats family."""
ACOUSTIC_KITS = (
    "BJA_Pacific",
    "ColomboAcousticDrumkit",
    "ForzeeStereo",
    "Millo-Drums_v.1",
    "Millo_MultiLayered2",
    "Millo_MultiLayered3",
    "The Black Pearl 1.0",
    "VariBreaks",
)
CYMBAL = re.compile(r"hh|hat|hi-?hat|crash|ride|splash|china|cymbal", re.IGNORECASE)
DRUM = re.compile(r"kick|bass ?drum|\bbd\b|snare|\bsd\b|tom", re.IGNORECASE)
CLASSES = (*FAMILIES, "drums", "cymbals")


@dataclass
class Sample:
    """One recorded sample of a GUS patch, as float32 at its own rate."""

    data: np.ndarray
    rate: int
    loop: tuple[int, int] | None
    low_hz: float
    high_hz: float
    root_hz: float


def read_patch(path: Path) -> list[Sample]:
    """The samples of a Gravis UltraSound ``.pat`` file (first instrument, first layer)."""
    blob = path.read_bytes()
    if blob[:8] != b"GF1PATCH":
        raise ValueError(f"{path}: not a GUS patch")
    offset = 129 + 63  # file header, instrument header
    count = blob[offset + 6]
    offset += 47  # layer header
    samples = []
    for _ in range(count):
        size, loop_start, loop_end = struct.unpack_from("<III", blob, offset + 8)
        (rate,) = struct.unpack_from("<H", blob, offset + 20)
        low, high, root = struct.unpack_from("<III", blob, offset + 22)
        modes = blob[offset + 55]
        raw = blob[offset + 96 : offset + 96 + size]
        wide, unsigned, looped = modes & 1, modes & 2, modes & 4
        width = 2 if wide else 1
        kind = ("<u2" if unsigned else "<i2") if wide else ("u1" if unsigned else "i1")
        data = np.frombuffer(raw, kind).astype(np.float64)
        if unsigned:
            data -= 2 ** (8 * width - 1)
        data = (data / 2 ** (8 * width - 1)).astype(np.float32)
        loop = (loop_start // width, loop_end // width) if looped else None
        if loop is not None and not 0 <= loop[0] < loop[1] <= len(data):
            loop = None
        samples.append(Sample(data, rate, loop, low / 1000, high / 1000, root / 1000))
        offset += 96 + size
    return samples


def play(sample: Sample, frequency_hz: float, note_s: float) -> np.ndarray:
    """``sample`` played at ``frequency_hz`` for ``note_s`` then released: CLIP_S s at 16 kHz."""
    ratio = Fraction(SAMPLE_RATE * sample.root_hz / (frequency_hz * sample.rate))
    ratio = ratio.limit_denominator(200)
    need = math.ceil(CLIP_S * SAMPLE_RATE / ratio) + 64
    data = sample.data
    if sample.loop is not None and len(data) < need:
        start, end = sample.loop
        repeats = math.ceil((need - len(data)) / (end - start))
        data = np.concatenate([data[:end], np.tile(data[start:end], repeats), data[end:]])
    x = sps.resample_poly(data[:need], ratio.numerator, ratio.denominator)
    out = np.zeros(int(CLIP_S * SAMPLE_RATE), np.float32)
    out[: min(len(x), len(out))] = x[: len(out)]
    held = int(note_s * SAMPLE_RATE)
    release = int(0.15 * SAMPLE_RATE)
    envelope = np.ones(len(out), np.float32)
    envelope[held : held + release] = np.linspace(1, 0, len(envelope[held : held + release]))
    envelope[held + release :] = 0
    return out * envelope


def fit(x: np.ndarray, rate: int) -> np.ndarray:
    """A recording as CLIP_S s of mono at 16 kHz: resampled, cropped or padded with silence."""
    if x.ndim == 2:
        x = x.mean(axis=1)
    ratio = Fraction(SAMPLE_RATE, int(rate))
    x = sps.resample_poly(x, ratio.numerator, ratio.denominator)
    out = np.zeros(int(CLIP_S * SAMPLE_RATE), np.float32)
    out[: min(len(x), len(out))] = x[: len(out)]
    fade = int(0.05 * SAMPLE_RATE)
    out[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
    return out


def freepats_clips(root: Path, per_class: int, rng: np.random.Generator):
    """(class, source, clip) for every freepats family, ``per_class`` clips each."""
    patches: dict[str, list[Path]] = {name: [] for name in FAMILIES}
    for path in sorted((root / FREEPATS).glob("*.pat")):
        program = int(path.name[:3])
        for name, programs in FAMILIES.items():
            if program in programs:
                patches[name].append(path)
    for family, paths in patches.items():
        for number, path in enumerate(paths):
            samples = [s for s in read_patch(path) if len(s.data) > 64]
            quota = per_class // len(paths) + (number < per_class % len(paths))
            for i in range(quota):
                sample = samples[i % len(samples)]
                low = max(sample.low_hz, sample.root_hz / 2 ** (7 / 12), 27.5)
                high = min(sample.high_hz, sample.root_hz * 2 ** (7 / 12), 4200.0)
                if high <= low:
                    low = high = sample.root_hz
                frequency = float(np.exp(rng.uniform(np.log(low), np.log(high))))
                note_s = float(rng.uniform(0.6, 1.3))
                yield family, path.stem, play(sample, frequency, note_s)


def kit_files(kit: Path) -> dict[str, list[Path]]:
    """The kit's sample files sorted into drums and cymbals by their instrument names."""
    found: dict[str, list[Path]] = {"drums": [], "cymbals": []}
    tree = ET.parse(kit / "drumkit.xml")
    for instrument in tree.iter():
        if not instrument.tag.endswith("instrument"):
            continue
        name = next((c.text or "" for c in instrument if c.tag.endswith("name")), "")
        files = [e.text for e in instrument.iter() if e.tag.endswith("filename") and e.text]
        label = "cymbals" if CYMBAL.search(name) else "drums" if DRUM.search(name) else None
        if label is None or "stick" in name.lower() or "rim" in name.lower():
            continue
        for file in files:
            path = kit / file
            if path.is_file() and path not in found[label]:
                found[label].append(path)
    return {label: sorted(paths) for label, paths in found.items()}


def drumkit_clips(root: Path, per_class: int, rng: np.random.Generator):
    """(class, source, clip) for drums and cymbals, spread evenly over the acoustic kits."""
    kits = {name: kit_files(root / DRUMKITS / name) for name in ACOUSTIC_KITS}
    for label in ("drums", "cymbals"):
        having = [name for name in ACOUSTIC_KITS if kits[name][label]]
        for number, name in enumerate(having):
            files = kits[name][label]
            quota = per_class // len(having) + (number < per_class % len(having))
            chosen = rng.permutation(len(files))[:quota]
            for index in sorted(chosen.tolist()):
                x, rate = sf.read(files[index], dtype="float32", always_2d=True)
                source = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")
                yield label, source, fit(x, rate)


def split_sources(rows: list[dict], test_fraction: float, seed: int) -> None:
    """Set each row's ``split``: per class, whole sources to test until ``test_fraction``."""
    rng = np.random.default_rng(seed)
    for label in CLASSES:
        mine = [row for row in rows if row["label"] == label]
        sources = sorted({row["group"] for row in mine})
        order = [sources[i] for i in rng.permutation(len(sources))]
        want, taken, test = test_fraction * len(mine), 0, set()
        for source in order:
            if taken >= want or len(test) == len(sources) - 1:
                break
            test.add(source)
            taken += sum(row["group"] == source for row in mine)
        for row in mine:
            row["split"] = "test" if row["group"] in test else "train"


def build(out: Path, *, per_class: int = 48, seed: int = 0, test_fraction: float = 0.25) -> Path:
    """Write the clips and ``labels.csv`` into ``out`` (replaced whole); returns the CSV."""
    freepats = package_root("freepats")
    drumkits = package_root("hydrogen-drumkits")
    rng = np.random.default_rng(seed)
    temp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir(parents=True)
    rows: list[dict] = []
    counts: dict[tuple[str, str], int] = {}
    clips = [*freepats_clips(freepats, per_class, rng), *drumkit_clips(drumkits, per_class, rng)]
    for label, source, clip in clips:
        number = counts.get((label, source), 0)
        counts[(label, source)] = number + 1
        peak = float(np.max(np.abs(clip)))
        if peak < 1e-4:
            continue
        clip = clip * np.float32(rng.uniform(0.25, 0.9) / peak)
        name = f"{label}/{source}_{number:02d}.wav"
        (temp / label).mkdir(exist_ok=True)
        sf.write(temp / name, clip, SAMPLE_RATE, subtype="PCM_16")
        rows.append({"path": name, "label": label, "group": source})
    split_sources(rows, test_fraction, seed)
    with open(temp / "labels.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, ["path", "label", "split", "group"])
        writer.writeheader()
        writer.writerows(rows)
    shutil.rmtree(out, ignore_errors=True)
    temp.rename(out)
    return out / "labels.csv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, default=data_folder() / "real-instruments")
    parser.add_argument("--per-class", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-fraction", type=float, default=0.25)
    args = parser.parse_args(argv)
    labels = build(
        args.out, per_class=args.per_class, seed=args.seed, test_fraction=args.test_fraction
    )
    with open(labels, newline="") as handle:
        rows = list(csv.DictReader(handle))
    print(f"wrote {labels}: {len(rows)} clips")
    for label in CLASSES:
        mine = [row for row in rows if row["label"] == label]
        test = [row for row in mine if row["split"] == "test"]
        sources = {row["group"] for row in mine}
        held = sorted({row["group"] for row in test})
        print(
            f"  {label:<9} {len(mine) - len(test):>3} train, {len(test):>3} test; "
            f"{len(sources)} sources, held out: {', '.join(held)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
