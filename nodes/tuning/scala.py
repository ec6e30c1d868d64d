"""Scala ``.scl`` tuning files: parsing, per the Scala file-format specification.

The format (https://www.huygens-fokker.org/scala/scl_format.html):

- a line whose first character is ``!`` is a comment, anywhere in the file;
- the first other line is a description (it may be empty);
- the next is the number of notes, a non-negative integer (leading
  whitespace allowed, anything after the number ignored);
- then exactly that many pitch lines. The first whitespace-separated token
  of each is the pitch; anything after it is ignored (a label). A token with
  a period is in cents (``100.0``, ``-3.5``, ``700.``), one without is a
  ratio ``p/q`` or a whole number ``p`` (``p/1``), with positive integers.
  The unison ``1/1`` is implicit, and the last pitch is the period (often
  ``2/1``, the octave);
- lines after the last pitch are ignored, as Scala does, but blank pitch
  lines are an error (the spec forbids them).

Files are ISO 8859-1 text (any byte decodes); both LF and CRLF line ends are
read. Errors say what is wrong and on which line (counting from 1).

This module is private to the tuning nodes (it registers no node).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

_COUNT = re.compile(r"^\s*(\d+)(?:\s.*)?$")
_CENTS = re.compile(r"^[+-]?(?:\d+\.\d*|\.\d+)$")
_RATIO = re.compile(r"^(\d+)(?:/(\d+))?$")
MAX_NOTES = 100_000


class ScalaError(ValueError):
    """A malformed ``.scl`` file; ``line`` is the 1-based line of the problem (None: whole file)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        self.reason = message
        super().__init__(f"line {line}: {message}" if line is not None else message)


@dataclass(frozen=True)
class ScalaScale:
    """A parsed scale: its description and its degrees as cents above the unison.

    ``cents`` holds the degrees 1..n in file order; the last is the period.
    """

    description: str
    cents: tuple[float, ...]

    @property
    def ratios(self) -> tuple[float, ...]:
        """The degrees as frequency ratios above the unison."""
        return tuple(2.0 ** (c / 1200.0) for c in self.cents)

    @property
    def period_cents(self) -> float:
        return self.cents[-1]


def parse_pitch(token: str, line: int) -> float:
    """One pitch token in cents above the unison (cents as written, ratios converted)."""
    if "." in token:
        if not _CENTS.match(token):
            raise ScalaError(f"{token!r} is not a number of cents (like '100.0')", line)
        return float(token)
    match = _RATIO.match(token)
    if match is None:
        if token.startswith("-"):
            raise ScalaError(
                f"{token!r}: a ratio must be positive (negative ratios are invalid)", line
            )
        raise ScalaError(
            f"{token!r} is not a pitch: write cents with a period ('386.3') "
            "or a ratio of positive integers ('5/4' or '2')",
            line,
        )
    numerator = int(match[1])
    denominator = int(match[2]) if match[2] is not None else 1
    if numerator == 0 or denominator == 0:
        raise ScalaError(f"{token!r}: a ratio needs a non-zero numerator and denominator", line)
    return 1200.0 * (math.log2(numerator) - math.log2(denominator))


def parse_scl(text: str) -> ScalaScale:
    """Parse the text of a ``.scl`` file.

    Raises
    ------
    ScalaError
        On a missing description or note count, a bad count, a pitch that is
        neither cents nor a positive ratio, a blank pitch line, or fewer
        pitch lines than the count says; with the line number.
    """
    lines = text.splitlines()
    content = [(i + 1, line) for i, line in enumerate(lines) if not line.startswith("!")]
    if not content:
        raise ScalaError("no description line: the file holds only comments or nothing")
    description = content[0][1].strip()
    if len(content) < 2:
        raise ScalaError(
            f"no note count after the description (line {content[0][0]})", content[0][0] + 1
        )
    count_line, count_text = content[1]
    match = _COUNT.match(count_text)
    if match is None:
        raise ScalaError(
            f"expected the number of notes (a whole number), got {count_text.strip()!r}",
            count_line,
        )
    count = int(match[1])
    if count > MAX_NOTES:
        raise ScalaError(f"{count} notes is more than the {MAX_NOTES} supported", count_line)
    pitch_lines = content[2 : 2 + count]
    if len(pitch_lines) < count:
        last = pitch_lines[-1][0] if pitch_lines else count_line
        raise ScalaError(
            f"the file declares {count} notes on line {count_line} but holds only "
            f"{len(pitch_lines)} pitch lines",
            last + 1,
        )
    cents = []
    for number, line in pitch_lines:
        tokens = line.split()
        if not tokens:
            raise ScalaError("blank line where a pitch was expected", number)
        cents.append(parse_pitch(tokens[0], number))
    return ScalaScale(description, tuple(cents))


def read_scl(path: str | Path) -> ScalaScale:
    """Read and parse a ``.scl`` file (ISO 8859-1)."""
    return parse_scl(Path(path).read_bytes().decode("latin-1"))
