"""What every event carries, whatever it says: its stream, its place in the stream, its id, its time.

`stream_id` names the stream (an opportunity id, or `<deal id>.after-sales`), `version` is the
event's place in it (from 1), `event_id` is unique and `schema_version` lets later code read old
events. The events themselves are listed by area in `domain.events`.
"""

from typing import Any

from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field


class EventMeta(BaseModel):
    """What the caller supplies for a new event: its id and the time it happened."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    occurred_at: AwareDatetime


def envelope(stream_id: str, version: int, meta: EventMeta) -> dict[str, Any]:
    """The fields every event carries: its stream, its place in it, its id and its time."""
    return {
        "stream_id": stream_id,
        "version": version,
        "event_id": meta.event_id,
        "occurred_at": meta.occurred_at,
    }


class Event(BaseModel):
    """The base of every domain event. Each subclass adds `type`, its discriminator."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    # Events stored before the stream key was generic name it `opportunity_id`: both read.
    stream_id: str = Field(validation_alias=AliasChoices("stream_id", "opportunity_id"))
    version: int = Field(ge=1)
    event_id: str
    occurred_at: AwareDatetime
