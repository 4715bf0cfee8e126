"""A JPEG's declared size, read from its header: no decoder, so no OpenCV in the importer.

Pure. The evidence writer checks each frame it keeps with it, and the camera decoder
(``devices.camera``) refuses a frame by it before decoding; the gateway of a site without
cameras therefore never loads OpenCV and numpy (about 55 MiB resident).
"""

from __future__ import annotations

MAX_JPEG_BYTES = 8 * 1024 * 1024
"""Largest JPEG accepted: a 4K camera frame at high quality is about 2 MB."""

# Start-of-frame markers (baseline, extended, progressive, lossless, …) carry the dimensions;
# C4 (Huffman tables), C8 (reserved) and CC (arithmetic conditioning) do not.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers that stand alone, without a length field.
_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}


def jpeg_size(jpeg: bytes) -> tuple[int, int]:
    """The (width, height) a JPEG declares in its header.

    Args:
        jpeg: the JPEG bytes.

    Returns:
        Width and height in pixels.

    Raises:
        ValueError: not a JPEG, or the header ends before the frame's dimensions.
    """
    if len(jpeg) < 4 or jpeg[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG (no start-of-image marker)")
    i = 2
    n = len(jpeg)
    while i + 4 <= n:
        if jpeg[i] != 0xFF:
            raise ValueError(f"not a JPEG (no marker at byte {i})")
        marker = jpeg[i + 1]
        if marker == 0xFF:  # fill byte before a marker
            i += 1
            continue
        if marker in _STANDALONE:
            i += 2
            continue
        length = int.from_bytes(jpeg[i + 2 : i + 4], "big")
        if length < 2:
            raise ValueError(f"JPEG segment at byte {i} has length {length}")
        if marker in _SOF:
            if i + 9 > n:
                break
            height = int.from_bytes(jpeg[i + 5 : i + 7], "big")
            width = int.from_bytes(jpeg[i + 7 : i + 9], "big")
            return width, height
        if marker in (0xD9, 0xDA):  # end of image, or scan data before any frame header
            raise ValueError("JPEG has no frame header before its image data")
        i += 2 + length
    raise ValueError("JPEG truncated in its header")
