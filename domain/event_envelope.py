"""What every event carries, whatever it says: its stream, its place in the stream, its id, its
time, and who caused it.

`stream_id` names the stream (an opportunity id, or `<deal id>.after-sales`), `version` is the
event's place in it (from 1), `event_id` is unique and `schema_version` lets later code read old
events. `actor` is who sent the command the event records (the principal an API authenticated,
`mei.chen` or `service:crm-sync`; whatever a Python caller set); None when the engine itself caused
it (a timer, a check's verdict) or nobody said. The events themselves are listed by area in
`domain.events`.

Schema versions: 1, events stored before they recorded an actor (they read with `actor=None`);
2, events with `actor`.
"""

from typing import Any

from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field

SCHEMA_VERSION = 2


class EventMeta(BaseModel):
    """What the caller supplies for a new event: its id, the time it happened, who caused it."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    occurred_at: AwareDatetime
    actor: str | None = None


def envelope(stream_id: str, version: int, meta: EventMeta) -> dict[str, Any]:
    """The fields every event carries: its stream, its place in it, its id, its time, its actor."""
    return {
        "stream_id": stream_id,
        "version": version,
        "event_id": meta.event_id,
        "occurred_at": meta.occurred_at,
        "actor": meta.actor,
    }


class Event(BaseModel):
    """The base of every domain event. Each subclass adds `type`, its discriminator."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = SCHEMA_VERSION  # 1 in events stored before `actor` existed
    # Events stored before the stream key was generic name it `opportunity_id`: both read.
    stream_id: str = Field(validation_alias=AliasChoices("stream_id", "opportunity_id"))
    version: int = Field(ge=1)
    event_id: str
    occurred_at: AwareDatetime
    actor: str | None = None  # who sent the command; None: the engine, or unknown (schema 1)
