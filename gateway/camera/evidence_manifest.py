"""The evidence manifest of one alert: what was kept, when, from which camera, and its SHA-256.

Pure: the models, the names that are safe on disk, and the choice of the best frame. The files
themselves are written by :mod:`gateway.camera.evidence`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

MANIFEST_VERSION = 1
"""Bumped when the manifest's fields change meaning."""

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# A ULID as gateway.ids writes it: 26 Crockford base32 characters in upper case, the first at
# most 7 (128 bits). Only this is ever a directory name: no dots, no slashes, no other spelling.
_ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
# Camera ids as the site file allows them; nothing that could climb out of a directory.
_CAMERA = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
# <camera>-<milliseconds since the epoch>[_<n> for a second distinct frame of the same ms].jpg
_FRAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}-[0-9]{1,16}(?:_[0-9]{1,3})?\.jpg")


class AlertIdError(ValueError):
    """Not an alert id of this gateway (a ULID); refused before it comes near a path."""

    def __init__(self, alert_id: str) -> None:
        super().__init__(f"not an alert id (a 26-character ULID): {alert_id[:40]!r}")
        self.alert_id = alert_id


class FrameRefusedError(ValueError):
    """A frame that is not kept as evidence, with the reason."""

    def __init__(self, alert_id: str, camera_id: str, reason: str) -> None:
        super().__init__(f"evidence for {alert_id} from {camera_id[:64]!r} refused: {reason}")
        self.alert_id = alert_id
        self.camera_id = camera_id
        self.reason = reason


class CaptureStatus(StrEnum):
    """Whether frames may still be added to an alert's evidence."""

    CAPTURING = "capturing"
    COMPLETE = "complete"


class EvidenceFrame(BaseModel):
    """One kept frame."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str = Field(
        pattern=f"^{_FRAME.pattern}$", description="File name in the alert's directory"
    )
    camera: str = Field(pattern=f"^{_CAMERA.pattern}$", description="Camera id of the site file")
    t: AwareDatetime = Field(description="When the camera took it")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the file, hex")
    bytes: int = Field(ge=0, description="Size of the file")
    score: float = Field(description="How much it shows (motion at the door); higher is better")


class Manifest(BaseModel):
    """``manifest.json`` of one alert's evidence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = MANIFEST_VERSION
    alert_id: str = Field(pattern=f"^{_ULID.pattern}$")
    household: str
    raised_at: AwareDatetime
    before_s: float = Field(ge=0, description="Frames kept from this long before raised_at")
    after_s: float = Field(ge=0, description="... to this long after it")
    cameras: list[str] = Field(description="Cameras with a frame here, sorted")
    frames: list[EvidenceFrame] = Field(description="In time order")
    best: str | None = Field(description="File of the best frame; null with no frame")
    status: CaptureStatus
    created_at: AwareDatetime
    updated_at: AwareDatetime

    def frame(self, file: str) -> EvidenceFrame | None:
        """The frame kept as ``file``, or None when the manifest names no such file."""
        return next((f for f in self.frames if f.file == file), None)

    def with_frames(
        self, frames: list[EvidenceFrame], status: CaptureStatus, now: datetime
    ) -> Manifest:
        """This manifest with another set of frames (sorted, best chosen) and status."""
        ordered = sorted(frames, key=lambda f: (f.t, f.file))
        return self.model_copy(
            update={
                "frames": ordered,
                "cameras": sorted({f.camera for f in ordered}),
                "best": best_frame(ordered, self.raised_at),
                "status": status,
                "updated_at": now,
            }
        )


def is_alert_id(text: str) -> bool:
    """Whether ``text`` is an alert id in the one spelling used for its directory."""
    return _ULID.fullmatch(text) is not None


def ulid_time(alert_id: str) -> datetime:
    """The time part of a ULID (when its alert was made), to the millisecond."""
    ms = 0
    for ch in alert_id[:10]:
        ms = ms * 32 + _CROCKFORD.index(ch)
    return datetime.fromtimestamp(ms / 1000, UTC)


def is_camera_id(text: str) -> bool:
    """Whether ``text`` can be a camera id (and so the start of a file name)."""
    return _CAMERA.fullmatch(text) is not None


def is_frame_name(text: str) -> bool:
    """Whether ``text`` is spelt as a frame file this module writes."""
    return _FRAME.fullmatch(text) is not None


def frame_name(camera_id: str, t: datetime, taken: set[str]) -> str:
    """A file name for a frame of ``camera_id`` at ``t`` that is not in ``taken``.

    Raises:
        ValueError: a thousand frames of one camera in one millisecond.
    """
    stem = f"{camera_id}-{round(t.timestamp() * 1000)}"
    for n in range(1000):
        name = f"{stem}.jpg" if n == 0 else f"{stem}_{n}.jpg"
        if name not in taken:
            return name
    raise ValueError(f"too many frames of {camera_id} at {t.isoformat()}")


def best_frame(frames: list[EvidenceFrame], raised_at: datetime) -> str | None:
    """The file of the highest score; on a tie the one nearest ``raised_at``, then the earlier.

    Args:
        frames: the kept frames.
        raised_at: when the alert was raised.

    Returns:
        A file name, or None when there is no frame.
    """
    if not frames:
        return None
    chosen = min(
        frames,
        key=lambda f: (-f.score, abs((f.t - raised_at).total_seconds()), f.t, f.file),
    )
    return chosen.file
