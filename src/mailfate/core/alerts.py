"""Alerts before AWS pauses you (docs/changes-and-webhooks.md): a change of reputation level is a change
of the feed. Pure: the stores count and keep the last level announced; this decides what changed.

The levels are those of the reputation figures (healthy, under_review, pause_risk), for the bounce rate
and the complaint rate, of all mail and of each configuration set, over a sliding window of send time.
A scope with fewer recipients than the minimum volume in the window is not judged at all (ten sends do
not page anyone): its last level stands until it has the volume again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from mailfate.core.stats import BOUNCE_THRESHOLDS, COMPLAINT_THRESHOLDS, Figures
from mailfate.core.wording import counted

METRICS = ("bounce", "complaint")
THRESHOLDS = {"bounce": BOUNCE_THRESHOLDS, "complaint": COMPLAINT_THRESHOLDS}
#: The level a scope has before anything was announced for it.
FIRST_LEVEL = "healthy"


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    window: timedelta = timedelta(hours=24)
    min_volume: int = 500  # recipients sent in the window (the rates' denominator)


@dataclass(frozen=True, slots=True)
class Transition:
    """One scope's rate moved to another level."""

    configuration_set: str | None  # None: all mail
    metric: str  # bounce or complaint
    level: str
    previous: str
    figures: dict[str, Any]  # the scope's figures (Figures.to_json) that caused it
    since: str
    until: str
    min_volume: int

    @property
    def scope(self) -> str:
        """How reputation_state names the scope: the configuration set, "" for all mail."""
        return self.configuration_set or ""

    @property
    def queue(self) -> str:
        """What orders this scope's alerts in the webhook outbox (where addresses order the others)."""
        return f"reputation:{self.metric}:{self.configuration_set or '*'}"

    def payload(self, at: str) -> dict[str, Any]:
        review, pause = THRESHOLDS[self.metric]
        return {
            "type": "reputation",
            "at": at,
            "metric": self.metric,
            "configuration_set": self.configuration_set,
            "level": self.level,
            "previous_level": self.previous,
            "rate": self.figures[f"{self.metric}_rate"],
            "thresholds": {"under_review": review, "pause_risk": pause},
            "window": {"since": self.since, "until": self.until, "min_volume": self.min_volume},
            "figures": self.figures,
            "text": describe(self),
        }


def volume(figures: Figures) -> int:
    """The recipients a rate is counted over: sent, less the mailbox simulator's."""
    return figures.counts["sent"] - figures.counts["excluded_sent"]


def transitions(
    scopes: dict[str | None, Figures],
    announced: dict[tuple[str, str], str],
    settled: frozenset[tuple[str, str]],
    policy: AlertPolicy,
    since: str,
    until: str,
) -> list[Transition]:
    """The scopes whose level differs from the one ``announced`` last (by (scope, metric); healthy when
    none was), among those with the minimum volume; none that a later window has ``settled``."""
    found = []
    for configuration_set, figures in sorted(scopes.items(), key=lambda item: item[0] or ""):
        if volume(figures) < policy.min_volume:
            continue
        body = figures.to_json()
        body.pop("key", None)
        for metric in METRICS:
            key = (configuration_set or "", metric)
            level = body[f"{metric}_level"]
            previous = announced.get(key, FIRST_LEVEL)
            if level != previous and key not in settled:
                found.append(
                    Transition(configuration_set, metric, level, previous, body, since, until, policy.min_volume)
                )
    return found


_WORDS = {"healthy": "healthy", "under_review": "under review", "pause_risk": "at risk of a pause"}
_ORDER = ("healthy", "under_review", "pause_risk")


def describe(t: Transition) -> str:
    """One line a person reads in a chat channel."""
    scope = f'configuration set "{t.configuration_set}"' if t.configuration_set else "all mail"
    number = t.figures["hard_bounces" if t.metric == "bounce" else "complaints"]
    singular = "hard bounce" if t.metric == "bounce" else "complaint"
    review, pause = THRESHOLDS[t.metric]
    worse = _ORDER.index(t.level) > _ORDER.index(t.previous) if t.previous in _ORDER else True
    if t.level == "healthy":
        head = f"✅ mailfate: the {t.metric} rate of {scope} is back to healthy"
    else:
        head = (
            f"{'🚨' if t.level == 'pause_risk' else '⚠️'} mailfate: the {t.metric} rate of {scope} is {_WORDS[t.level]}"
        )
        head += "" if worse else " (improving)"
    return (
        f"{head}: {t.figures[f'{t.metric}_rate']:.2%} ({counted(number, singular)} of "
        f"{counted(t.figures['sent'], 'recipient')} sent "
        f"from {t.since} to {t.until}; SES reviews at {review:.1%} and may pause at {pause:.1%}). "
        f"It was {_WORDS.get(t.previous, t.previous)}."
    )


def chat_message(payload: dict[str, Any]) -> dict[str, Any]:
    """The JSON that Slack, Mattermost and Microsoft Teams incoming webhooks all accept: a text."""
    return {"text": str(payload.get("text", ""))}
