"""The CJK font the PDFs are written in: found once, checked for Chinese glyphs.

PDFs embed their font, so the gateway needs one with Chinese glyphs on its own machine (Debian:
``apt-get install fonts-noto-cjk``). ``ISOGATE_PDF_FONT`` names a TrueType or OpenType font, or
a collection (``.ttc``: the Simplified Chinese face is taken). Without one a PDF is refused with
:class:`FontMissingError`, never written with empty boxes where the text should be.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fontTools.ttLib import TTFont

log = logging.getLogger("isogate.documents")

# Where distributions install a CJK font, the preferred first.
KNOWN_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian, Ubuntu: fonts-noto-cjk
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Arch: noto-fonts-cjk
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",  # Fedora
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # Debian: fonts-wqy-zenhei
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian: fonts-wqy-microhei
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # Debian: fonts-arphic-uming
)
INSTALL_HINT = "install fonts-noto-cjk (Debian, Ubuntu) or set ISOGATE_PDF_FONT to a CJK font"
PROBE = "居家隔离告知书解除报告单体温"
"""Characters the font must have: the documents' own words."""


class FontMissingError(RuntimeError):
    """No font with Chinese glyphs: no PDF can be made."""


@dataclass(frozen=True, slots=True)
class FontFace:
    """One face of a font file (``index``: its number in a collection)."""

    path: Path
    index: int = 0


@dataclass(frozen=True, slots=True)
class CjkFont:
    """The regular face the PDFs use, and a bold one when the family has it."""

    regular: FontFace
    bold: FontFace | None = None


def find_cjk_font(override: Path | None = None) -> CjkFont:
    """The CJK font to write PDFs in: ``override``, else the first known one installed.

    Raises:
        FontMissingError: ``override`` is not a usable CJK font, or none is installed.
    """
    if override is not None:
        regular = _face(Path(override))
        if regular is None:
            raise FontMissingError(
                f"ISOGATE_PDF_FONT={override}: not a font file with Chinese glyphs"
            )
        return CjkFont(regular, _bold_of(regular))
    for candidate in (*KNOWN_FONTS, *_fontconfig()):
        regular = _face(Path(candidate))
        if regular is not None:
            return CjkFont(regular, _bold_of(regular))
    raise FontMissingError(f"no font with Chinese glyphs found: {INSTALL_HINT}")


def _bold_of(regular: FontFace) -> FontFace | None:
    name = regular.path.name
    if "Regular" not in name:
        return None
    return _face(regular.path.with_name(name.replace("Regular", "Bold")), regular.index)


@functools.cache
def _face(path: Path, index: int | None = None) -> FontFace | None:
    """The face of ``path`` with the probe's glyphs (a collection's Simplified Chinese face
    first); None when the file is missing, not a font, or has no Chinese glyphs."""
    if not path.is_file():
        return None
    # fontTools (and the parsed tables) only in the process that writes a PDF or probes.
    from fontTools.ttLib import TTCollection, TTFont, TTLibError

    try:
        if path.suffix.lower() in (".ttc", ".otc"):
            faces = TTCollection(str(path), lazy=True).fonts
            order = [index] if index is not None else _simplified_first(faces)
            return next(
                (FontFace(path, i) for i in order if i < len(faces) and _covers(faces[i])), None
            )
        return FontFace(path) if _covers(TTFont(str(path), lazy=True)) else None
    except (OSError, TTLibError, KeyError, AssertionError) as exc:
        log.warning("font %s cannot be read: %s", path, exc)
        return None


def _simplified_first(faces: list[TTFont]) -> list[int]:
    def family(font: TTFont) -> str:
        return str(font["name"].getDebugName(1) or "")

    sc = [i for i, f in enumerate(faces) if family(f).endswith(" SC")]
    return sc + [i for i in range(len(faces)) if i not in sc]


def _covers(font: TTFont) -> bool:
    cmap = font.getBestCmap() or {}
    return all(ord(ch) in cmap for ch in PROBE)


def _fontconfig() -> list[str]:
    """What fontconfig offers for Chinese, when it is installed."""
    fc = shutil.which("fc-match")
    if fc is None:
        return []
    try:
        done = subprocess.run(  # a fixed program, no shell
            [fc, "-f", "%{file}\n", "-s", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return [line for line in done.stdout.splitlines()[:20] if line.strip()]


def probe_in_child(override: Path | None = None) -> CjkFont:
    """:func:`find_cjk_font` run in a child process, so that parsing the font's tables (tens of
    MiB for a CJK collection) never raises the gateway's own memory.

    Raises:
        FontMissingError: as :func:`find_cjk_font`, with its message.
    """
    args = [sys.executable, "-m", "gateway.care.documents.fonts"]
    if override is not None:
        args.append(str(override))
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise FontMissingError(done.stdout.strip() or done.stderr.strip()[-500:])
    found = json.loads(done.stdout)

    def face(f: dict[str, object] | None) -> FontFace | None:
        return None if f is None else FontFace(Path(str(f["path"])), int(str(f["index"])))

    regular = face(found["regular"])
    assert regular is not None
    return CjkFont(regular, face(found["bold"]))


def _main(argv: list[str]) -> int:
    try:
        font = find_cjk_font(Path(argv[0]) if argv else None)
    except FontMissingError as exc:
        print(exc)
        return 1

    def face(f: FontFace | None) -> dict[str, object] | None:
        return None if f is None else {"path": str(f.path), "index": f.index}

    print(json.dumps({"regular": face(font.regular), "bold": face(font.bold)}))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
