"""The appeal catalogue: the categories (service codes) intake accepts, with their typed extra
fields. Published in versions; a version never changes once published. Pure."""

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared import events

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
LIST_TYPES: frozenset[str] = frozenset({"singlevaluelist", "multivaluelist"})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AttributeValue(_Frozen):
    key: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=200)


class Attribute(_Frozen):
    """An extra field a category asks for; `variable=false` is informational text only."""

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    datatype: Datatype
    required: bool = False
    variable: bool = True
    description: str = Field(min_length=1, max_length=500)
    datatype_description: str = Field(default="", max_length=500)
    order: int = Field(ge=1, le=1000)
    values: tuple[AttributeValue, ...] = ()

    @model_validator(mode="after")
    def _values_for_lists_only(self) -> Self:
        if self.datatype in LIST_TYPES and not self.values:
            raise ValueError(f"attribute {self.code}: a {self.datatype} needs values")
        if self.datatype not in LIST_TYPES and self.values:
            raise ValueError(f"attribute {self.code}: only list datatypes take values")
        keys = [v.key for v in self.values]
        if len(keys) != len(set(keys)):
            raise ValueError(f"attribute {self.code}: value keys must be unique")
        if self.required and not self.variable:
            raise ValueError(f"attribute {self.code}: an informational attribute is never required")
        return self


class Service(_Frozen):
    """One appeal category."""

    code: events.Code
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=1000)
    group: str = Field(min_length=1, max_length=100)
    keywords: tuple[str, ...] = ()
    attributes: tuple[Attribute, ...] = ()

    @model_validator(mode="after")
    def _unique_attributes(self) -> Self:
        codes = [a.code for a in self.attributes]
        orders = [a.order for a in self.attributes]
        if len(codes) != len(set(codes)):
            raise ValueError(f"service {self.code}: attribute codes must be unique")
        if len(orders) != len(set(orders)):
            raise ValueError(f"service {self.code}: attribute orders must be unique")
        return self

    @property
    def metadata(self) -> bool:
        return bool(self.attributes)

    def ordered_attributes(self) -> tuple[Attribute, ...]:
        return tuple(sorted(self.attributes, key=lambda a: a.order))


class Catalogue(_Frozen):
    """What `PUT /v1/catalogue` publishes: every category in force."""

    services: tuple[Service, ...] = Field(min_length=1, max_length=5000)

    @model_validator(mode="after")
    def _unique_codes(self) -> Self:
        codes = [s.code for s in self.services]
        if len(codes) != len(set(codes)):
            duplicated = sorted({c for c in codes if codes.count(c) > 1})
            raise ValueError(f"service codes listed twice: {', '.join(duplicated)}")
        return self

    def find(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)
