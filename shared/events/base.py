"""What every fact shares: the base model and the field types the contracts use."""

from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field


def _as_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 is before the first UTC instant
        raise ValueError("the time is out of range once in UTC") from None


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_as_utc)]
# No NUL: PostgreSQL stores no NUL character in text, nor a \u0000 escape in jsonb.
Text = Annotated[str, Field(min_length=1, max_length=4000, pattern=r"^[^\x00]*$")]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
Channel = Literal["phone", "web", "app", "wechat", "partner", "open311"]
AppealType = Literal["consultation", "help", "complaint", "report", "suggestion", "praise"]
Urgency = Literal["normal", "urgent"]
HandlingResult = Literal["solved", "explained", "unsolvable"]
Satisfaction = Literal["satisfied", "basically_satisfied", "dissatisfied"]
# The citizen's view of how the department's staff treated them (态度), asked apart from
# whether the problem was solved and whether they are satisfied: a solved problem can come
# with a scolding, and that is what the hotline must be able to hold a department to.
Attitude = Literal["good", "acceptable", "poor"]


class Event(BaseModel):
    """Fields every fact carries; `type` is the discriminator, `source` the owning service."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    source: ClassVar[str]
    schema_version: ClassVar[int] = 1

    type: str
    id: UUID
    subject: UUID  # the appeal id: the stream id and the Kafka key
    time: UtcDatetime
    actor: str = Field(min_length=1, max_length=200)
    causation_id: UUID | None = None
    correlation_id: UUID
