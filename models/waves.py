"""Which pulse waves a report may use: the one place that decides it.

Pulse figures come from closed waves only, and a pulse window is made of
whole waves: `from`/`to` select the waves that *closed* in the window
(their `closes_at` falls on one of its days, UTC). Two windows therefore
differ by whole waves, never by one more answer or one more day. A closed
wave with fewer than `min_group` respondents contributes to no figure at
all; a wave still open shows only its response rate and when it closes.
See docs/metrics.md, "Privacy".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from models.sql import Query, instant
from surveys.privacy import band

__all__ = ["WaveState", "WaveStatus", "waves_in"]

WaveState = Literal["open", "reported", "too_few"]


@dataclass(frozen=True)
class WaveStatus:
    id: int
    name: str
    opens_at: datetime
    closes_at: datetime
    respondents: int  # distinct contractors who answered (one response per contractor and wave)
    invited: int
    state: WaveState

    @property
    def reported(self) -> bool:
        return self.state == "reported"

    def as_dict(self, min_group: int) -> dict[str, Any]:
        """The wave as a report lists it: a respondent count and a response
        rate only where at least min_group answered (see surveys.privacy.band)."""
        return {
            "wave": self.name,
            "opens_at": self.opens_at.isoformat(),
            "closes_at": self.closes_at.isoformat(),
            "state": self.state,
            "n_invited": self.invited,
            "n_contractors": band(self.respondents, min_group),
            # a rate over fewer than min_group answers would tell who answered
            "response_rate": self.respondents / self.invited
            if self.invited and self.respondents >= min_group else None,
        }


async def waves_in(
    start: date, end: date, *, min_group: int, now: datetime | None = None
) -> list[WaveStatus]:
    """The waves that closed in [start, end] and those still open that had
    opened by the end of `end`, in order of opening, with their state."""
    now = now or datetime.now(UTC)
    low = datetime.combine(start, time(), UTC)
    high = datetime.combine(end + timedelta(days=1), time(), UTC)
    q = Query()
    low_p, high_p, now_p = q.p(low), q.p(high), q.p(now)
    rows = await q.rows(
        "SELECT w.id AS id, w.name AS name, w.opens_at AS opens_at, w.closes_at AS closes_at, "
        "(SELECT COUNT(*) FROM pulse_responses r WHERE r.wave_id = w.id) AS respondents, "
        "(SELECT COUNT(*) FROM pulse_invites i WHERE i.wave_id = w.id) AS invited "
        f"FROM pulse_waves w WHERE (w.closes_at >= {low_p} AND w.closes_at < {high_p} AND w.closes_at <= {now_p}) "
        f"OR (w.closes_at > {now_p} AND w.opens_at < {high_p}) ORDER BY w.opens_at, w.id"
    )
    out = []
    for row in rows:
        closes_at = instant(row["closes_at"])
        respondents = int(row["respondents"])
        state: WaveState = "open" if closes_at > now else "reported" if respondents >= min_group else "too_few"
        out.append(WaveStatus(
            id=int(row["id"]), name=row["name"], opens_at=instant(row["opens_at"]), closes_at=closes_at,
            respondents=respondents, invited=int(row["invited"]), state=state,
        ))
    return out
