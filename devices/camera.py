"""Camera frames for analysis: a JPEG decoded at reduced size, and the door's region of interest.

Pure (no I/O, no clock). A JPEG is checked before it is decoded: its size and dimensions come
from its header, so a decompression bomb or a truncated upload is refused with its reason rather
than decoded. The decoder then asks libjpeg for a grayscale image scaled down in the DCT
(``IMREAD_REDUCED_GRAYSCALE_2/4/8``), which is several times cheaper than a full decode and
averages away most of the sensor noise; the analysed frame is about 120–160 px high.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from devices.camera_jpeg import MAX_JPEG_BYTES as MAX_JPEG_BYTES  # re-exported
from devices.camera_jpeg import jpeg_size as jpeg_size
from devices.events import Rejected

Gray = npt.NDArray[np.uint8]
"""A grayscale image, rows × columns, 0–255."""

MIN_SIDE = 32
"""Smallest width or height of a frame: below it there is nothing to analyse."""
MAX_SIDE = 8192
"""Largest width or height: no door camera sends more; past it a header is lying."""
MAX_ASPECT = 8.0
"""Widest ratio of the two sides accepted (a panoramic camera is about 4:1)."""
TARGET_HEIGHT = 140
"""Height the reduced decode aims at: Frigate's motion stage works at 100–180 px."""

_REDUCED = {
    1: cv2.IMREAD_GRAYSCALE,
    2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
    4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
    8: cv2.IMREAD_REDUCED_GRAYSCALE_8,
}


@dataclass(frozen=True, slots=True, eq=False)
class AnalysisFrame:
    """A frame decoded for analysis.

    Attributes:
        gray: the reduced grayscale image.
        width: width of the full frame, in pixels.
        height: height of the full frame, in pixels.
        scale: how many full-frame pixels one analysed pixel spans (1, 2, 4 or 8).
    """

    gray: Gray = field(repr=False)
    width: int
    height: int
    scale: int


def reduction_for(height: int) -> int:
    """The DCT reduction (1, 2, 4 or 8) that brings a frame nearest ``TARGET_HEIGHT`` rows.

    Args:
        height: the full frame's height in pixels.

    Returns:
        The reduction factor.
    """
    return min(_REDUCED, key=lambda f: abs(-(-height // f) - TARGET_HEIGHT))


def decode_for_analysis(jpeg: bytes) -> AnalysisFrame | Rejected:
    """Decode a camera JPEG as a small grayscale frame, or say why it cannot be.

    Args:
        jpeg: the frame as received.

    Returns:
        The analysis frame, or a :class:`Rejected` whose reason names the fault: empty, too
        large, not a JPEG, truncated, an absurd size, or undecodable.
    """
    if not jpeg:
        return Rejected("empty frame")
    if len(jpeg) > MAX_JPEG_BYTES:
        return Rejected(f"frame of {len(jpeg)} bytes is over the {MAX_JPEG_BYTES} byte limit")
    try:
        width, height = jpeg_size(jpeg)
    except ValueError as exc:
        return Rejected(str(exc))
    fault = _size_fault(width, height)
    if fault:
        return Rejected(fault)
    # libjpeg pads a cut-off scan with gray and only warns: a frame must end where JPEG ends.
    if not jpeg.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return Rejected("JPEG truncated (no end-of-image marker)")
    scale = reduction_for(height)
    gray = cv2.imdecode(np.frombuffer(jpeg, np.uint8), _REDUCED[scale])
    if gray is None or gray.ndim != 2 or gray.size == 0:
        return Rejected("JPEG could not be decoded")
    if gray.shape != (-(-height // scale), -(-width // scale)):
        return Rejected(f"JPEG decoded to {gray.shape[1]}×{gray.shape[0]}, not its header's size")
    return AnalysisFrame(gray=np.asarray(gray, np.uint8), width=width, height=height, scale=scale)


def _size_fault(width: int, height: int) -> str:
    if min(width, height) < MIN_SIDE or max(width, height) > MAX_SIDE:
        return f"absurd frame size {width}×{height} (sides {MIN_SIDE}–{MAX_SIDE} px)"
    if max(width, height) > MAX_ASPECT * min(width, height):
        return f"absurd frame shape {width}×{height} (wider than {MAX_ASPECT:g}:1)"
    return ""


def roi_mask(roi: Sequence[tuple[float, float]] | None, shape: tuple[int, int]) -> Gray:
    """The door's region of interest as a mask over an analysed frame.

    Args:
        roi: polygon points ``(x, y)`` as fractions (0–1) of the frame's width and height, as in
            the site file's ``roi:``; None means the whole frame.
        shape: (rows, columns) of the analysed frame.

    Returns:
        A mask of ``shape``: 255 inside the polygon, 0 outside.

    Raises:
        ValueError: fewer than three points, a point outside 0–1, or a polygon of no area.
    """
    rows, cols = shape
    if roi is None:
        return np.full((rows, cols), 255, np.uint8)
    if len(roi) < 3:
        raise ValueError("a region of interest needs at least three points")
    if any(not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0) for x, y in roi):
        raise ValueError("region of interest points are fractions of the frame, 0–1")
    points = np.array([(x * (cols - 1), y * (rows - 1)) for x, y in roi], np.float32)
    mask = np.zeros((rows, cols), np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 255)
    if not mask.any():
        raise ValueError("region of interest has no area")
    return mask
