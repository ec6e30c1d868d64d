"""Regenerate docs/gallery.md and its pictures: ``python docs/make_gallery.py``.

Renders every graph in graphs/ (through the cache, into graphs/out/), then
draws a spectrogram of each audio output with graphengine itself
(``source.file -> channels.mono -> spectral.stft -> sink.image``, 800 x 300
pixels) into docs/gallery/, and rewrites docs/gallery.md. The audio is not
committed: the gallery links the paths a render writes.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import graphengine as ge
from graphengine.watch import AUDIO_SUFFIXES, sink_outputs, summarize_output

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
WIDTH_PX, HEIGHT_PX = 800, 300

INTRO = """\
# Gallery

Every graph in [graphs/](../graphs), with a spectrogram of each sound it
makes. Render a graph to hear it: the audio lands at the path shown (it is
not kept in the repository). The pictures are drawn by graphengine itself
(`source.file` -> `channels.mono` -> `spectral.stft` -> `sink.image`).

This page and [gallery/](gallery) are generated: after adding or changing a
graph, run

    python docs/make_gallery.py
"""


def description(graph_file: Path) -> str:
    """The first paragraph of the graph file's leading comment."""
    lines = []
    for line in graph_file.read_text().splitlines():
        if not line.startswith("#"):
            break
        text = line[1:].strip()
        indented = line[1:].startswith("   ")  # a command line in the comment
        if not text or indented or text.startswith(("Render", "Try:")):
            break
        lines.append(text)
    return " ".join(lines)


def spectrogram(audio_file: Path, picture: Path, title: str) -> Path:
    """Draw ``audio_file``'s spectrogram to ``picture`` with a graphengine graph."""
    import soundfile as sf

    rate = sf.info(audio_file).samplerate
    g = ge.Graph(sample_rate=rate, name="gallery")
    g.add("src", "source.file", path=str(audio_file))
    g.add("mono", "channels.mono", in_="src")
    g.add("spec", "spectral.stft", in_="mono", n_fft=4096 if rate > 30000 else 2048, hop=1024)
    g.add(
        "picture",
        "sink.image",
        in_="spec",
        path=str(picture),
        width_px=WIDTH_PX,
        height_px=HEIGHT_PX,
        log_frequency=True,
        title=title,
    )
    g.run(cache=False)
    sidecar = picture.with_name(picture.name + ".graph.json")
    sidecar.unlink(missing_ok=True)  # provenance of a docs picture is noise in the repo
    from PIL import Image

    with Image.open(picture) as image:  # 256 colours: a third of the bytes, same look
        image.load()
        _small_png(image, picture)
    return picture


def _small_png(image, path: Path) -> None:
    from PIL import Image

    small = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def thumbnail(source: Path, picture: Path) -> Path:
    """A copy of a picture a graph drew, at most 800 pixels wide."""
    from PIL import Image

    with Image.open(source) as image:
        image.thumbnail((WIDTH_PX, 4 * HEIGHT_PX))
        _small_png(image, picture)
    return picture


def build(graphs_dir: Path, pictures_dir: Path, markdown: Path) -> list[Path]:
    """Render every graph in ``graphs_dir``, draw its audio outputs, write ``markdown``."""
    pictures_dir.mkdir(parents=True, exist_ok=True)
    sections = [INTRO]
    pictures = []
    for graph_file in sorted(graphs_dir.glob("*.toml")) + sorted(graphs_dir.glob("*.json")):
        graph = ge.load(graph_file)
        result = graph.run()
        shown = os.path.relpath(graph_file, REPO)
        lines = [f"## {graph_file.stem}", ""]
        text = description(graph_file)
        if text:
            lines += [text, ""]
        lines += [f"Render: `graphengine render {shown}`", ""]
        outputs = sink_outputs(result.valid)
        audio = [o for o in outputs if o.suffix.lower() in AUDIO_SUFFIXES]
        others = [o for o in outputs if o not in audio]
        for output in audio:
            where = os.path.relpath(output, REPO)
            summary = summarize_output(output)
            stem = graph_file.stem
            name = f"{stem}.png" if output.stem == stem else f"{stem}-{output.stem}.png"
            picture = spectrogram(output, pictures_dir / name, f"{stem}: {output.name}")
            pictures.append(picture)
            peak = "-inf" if summary.peak_dbfs is None else f"{summary.peak_dbfs:.1f}"
            lines += [
                f"![spectrogram of {output.name}]({os.path.relpath(picture, markdown.parent)})",
                "",
                f"Audio: [{where}]({os.path.relpath(output, markdown.parent)}) "
                f"({summary.duration_s:.1f} s, {summary.channels} ch, {summary.sample_rate} Hz, "
                f"peak {peak} dBFS)",
                "",
            ]
        if not audio:  # no sound: show the pictures the graph draws itself
            for output in others:
                if output.suffix.lower() == ".png":
                    picture = thumbnail(output, pictures_dir / f"{graph_file.stem}-{output.name}")
                    pictures.append(picture)
                    link = os.path.relpath(picture, markdown.parent)
                    lines += [f"![{output.name}]({link})", ""]
        if others:
            written = ", ".join(f"`{os.path.relpath(o, REPO)}`" for o in others)
            lines.append(f"Also writes {written}.")
        sections.append("\n".join(lines) + "\n")
    markdown.write_text("\n".join(sections))
    return pictures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", type=Path, default=REPO / "graphs")
    parser.add_argument("--pictures", type=Path, default=DOCS / "gallery")
    parser.add_argument("--markdown", type=Path, default=DOCS / "gallery.md")
    args = parser.parse_args(argv)
    pictures = build(args.graphs, args.pictures, args.markdown)
    print(f"wrote {args.markdown} and {len(pictures)} pictures in {args.pictures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
