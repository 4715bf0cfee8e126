"""Camera frames decoded for analysis: reduced size, and bad frames refused with their reason."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from devices.camera import (
    MAX_JPEG_BYTES,
    AnalysisFrame,
    decode_for_analysis,
    jpeg_size,
    reduction_for,
    roi_mask,
)
from devices.events import Rejected


def jpeg(width: int = 640, height: int = 480) -> bytes:
    """A JPEG of a smooth random picture."""
    rng = np.random.default_rng(1)
    img = cv2.resize(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8), (width, height))
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return bytes(buf.tobytes())


def with_size(data: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its frame header claiming another size."""
    i = data.index(b"\xff\xc0")
    patched = bytearray(data)
    patched[i + 5 : i + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(patched)


def test_a_vga_frame_is_decoded_at_a_quarter_in_gray():
    """A 640×480 JPEG becomes a 160×120 grayscale frame that remembers the full size."""
    frame = decode_for_analysis(jpeg())
    assert isinstance(frame, AnalysisFrame)
    assert frame.gray.shape == (120, 160)
    assert frame.gray.dtype == np.uint8
    assert (frame.width, frame.height, frame.scale) == (640, 480, 4)


@pytest.mark.parametrize(("height", "scale"), [(120, 1), (240, 2), (480, 4), (720, 4), (1080, 8)])
def test_the_reduction_aims_at_about_140_rows(height: int, scale: int):
    """The DCT reduction is chosen so that the analysed frame is near 140 px high."""
    assert reduction_for(height) == scale


def test_the_header_gives_the_size_without_decoding():
    """The frame header's width and height are read from the bytes."""
    assert jpeg_size(jpeg(320, 240)) == (320, 240)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty frame"),
        (b"GIF89a" + b"\0" * 100, "not a JPEG"),
        (jpeg()[:5000], "truncated"),
        (jpeg()[:40], "truncated in its header"),
        (with_size(jpeg(), 20000, 20000), "absurd frame size"),
        (with_size(jpeg(), 8, 8), "absurd frame size"),
        (with_size(jpeg(), 4000, 100), "absurd frame shape"),
        (b"\xff\xd8" + b"\0" * (MAX_JPEG_BYTES + 1), "byte limit"),
    ],
)
def test_a_bad_frame_is_rejected_with_its_reason(data: bytes, reason: str):
    """Empty, foreign, truncated, absurd or oversized frames give a reason, never an exception."""
    result = decode_for_analysis(data)
    assert isinstance(result, Rejected)
    assert reason in result.reason


def test_the_whole_frame_when_there_is_no_roi():
    """No roi in the site file means every pixel is watched."""
    mask = roi_mask(None, (120, 160))
    assert mask.shape == (120, 160)
    assert (mask == 255).all()


def test_the_roi_polygon_covers_its_share_of_the_frame():
    """A rectangle over the middle fifth of the width and half the height masks about a tenth."""
    mask = roi_mask([(0.4, 0.25), (0.6, 0.25), (0.6, 0.75), (0.4, 0.75)], (120, 160))
    assert 0.09 < (mask == 255).mean() < 0.12
    assert mask[60, 80] == 255
    assert mask[5, 5] == 0


@pytest.mark.parametrize(
    "roi",
    [[(0.1, 0.1), (0.2, 0.2)], [(0.1, 0.1), (1.5, 0.2), (0.3, 0.9)]],
)
def test_a_wrong_roi_is_refused(roi: list[tuple[float, float]]):
    """Fewer than three points, or points outside the frame, are refused."""
    with pytest.raises(ValueError, match="region of interest"):
        roi_mask(roi, (120, 160))
