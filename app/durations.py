"""How long something took, the short way people read it."""

from __future__ import annotations


def format_duration(seconds: float | None) -> str:
    """Say a duration the short way people read it: 4.2 s, 3 min 05 s, 1 h 02 min."""
    if seconds is None:
        return "—"
    seconds = max(0.0, float(seconds))
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
