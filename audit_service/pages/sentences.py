"""Each fact told as a sentence a person reads: who did what, why, and the deadline it set,
in Beijing time. Pure: the same fact and language give the same sentence.

A sentence is the parts its catalogue gives the fact's type (`Catalogue.facts`), each a
`str.format` template over the fact's fields: nested fields joined by "_"
(`deadlines_handle_due`, `citizen_name`), enum and yes/no values in words, times in Beijing
time, lists joined, plus `actor` (who recorded it, named) and `current_handle_due` (the
handling deadline in force when it happened). The first part always shows; a later part
only when every field it names has a value, so optional details drop out cleanly.
"""

import string
import types
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AwareDatetime, BaseModel

from audit_service.pages.catalogue import Catalogue
from shared import events, upcasting
from shared.workdays import HOTLINE_ZONE

MISSING = "—"
_FORMATTER = string.Formatter()
_ENVELOPE = {"type", "id", "subject", "time", "actor", "causation_id", "correlation_id"}
DERIVED = frozenset({"actor", "current_handle_due"})  # fields no contract carries


def local_time(at: datetime | str) -> str:
    """A moment as the hotline reads it: Beijing time to the minute."""
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return moment.astimezone(HOTLINE_ZONE).strftime("%Y-%m-%d %H:%M")


def placeholders(part: str) -> list[str]:
    return [name for _, name, _, _ in _FORMATTER.parse(part) if name is not None]


def fields_of(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every name a sentence part may use for facts of `model`."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        if name in _ENVELOPE:
            continue
        nested = _nested_model(info.annotation)
        if nested is not None:
            names |= fields_of(nested, f"{prefix}{name}_")
        else:
            names.add(prefix + name)
    return names


def actor_name(catalogue: Catalogue, actor: str) -> str:
    """ "service:dispatch" → the service's name; "department:water" → "部门 water"."""
    if actor in catalogue.actors:
        return catalogue.actors[actor]
    prefix, colon, rest = actor.partition(":")
    pattern = catalogue.actors.get(prefix + ":")
    return pattern.format(rest) if colon and pattern else actor


def tell(
    catalogue: Catalogue,
    fact_type: str,
    actor: str,
    data: Mapping[str, Any],
    *,
    schema_version: int,
    current_handle_due: datetime | None = None,
) -> str:
    """The sentence for one fact, its data as recorded (an older schema version is read
    through shared.upcasting first, as the services read it)."""
    model, parts = events.EVENT_TYPES.get(fact_type), catalogue.facts.get(fact_type)
    who = actor_name(catalogue, actor)
    if model is None or parts is None:
        return catalogue.messages.unknown_fact.format(actor=who, type=fact_type)
    try:
        current = upcasting.upcast(
            fact_type, schema_version, dict(data), current=model.schema_version
        )
    except upcasting.UpcastError:
        current = dict(data)
    known = _values(catalogue, model, current)
    known["actor"] = who
    if current_handle_due is not None:
        known["current_handle_due"] = local_time(current_handle_due)
    first, *rest = parts
    said = first.format_map({name: known.get(name) or MISSING for name in placeholders(first)})
    return said + "".join(
        part.format_map(known) for part in rest if all(known.get(n) for n in placeholders(part))
    )


def _values(
    catalogue: Catalogue, model: type[BaseModel], data: Mapping[str, Any]
) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, info in model.model_fields.items():
        value = data.get(name)
        if name in _ENVELOPE or value is None:
            continue
        nested = _nested_model(info.annotation)
        if nested is not None and isinstance(value, Mapping):
            inner = _values(catalogue, nested, value)
            found.update({f"{name}_{key}": said for key, said in inner.items()})
        elif isinstance(value, list | tuple):
            said = (_say(catalogue, name, info.annotation, item) for item in value)
            found[name] = catalogue.messages.list_separator.join(said)
        else:
            found[name] = _say(catalogue, name, info.annotation, value)
    return found


def _say(catalogue: Catalogue, name: str, annotation: Any, value: Any) -> str:
    leaves = list(_leaves(annotation))
    if isinstance(value, bool):
        return catalogue.words.get(f"{name}.{str(value).lower()}", str(value))
    if any(get_origin(leaf) is Literal for leaf in leaves):
        return catalogue.words.get(f"{name}.{value}", str(value))
    if isinstance(value, str) and any(_is_time(leaf) for leaf in leaves):
        return local_time(value)
    return str(value)


def _is_time(leaf: Any) -> bool:
    return leaf is AwareDatetime or (isinstance(leaf, type) and issubclass(leaf, datetime))


def _leaves(annotation: Any) -> Iterator[Any]:
    """The plain types inside Optional, Annotated, unions and tuples."""
    origin = get_origin(annotation)
    if origin is Annotated:
        yield from _leaves(get_args(annotation)[0])
    elif origin in (Union, types.UnionType, tuple, list):
        for arg in get_args(annotation):
            if arg is not Ellipsis:
                yield from _leaves(arg)
    else:
        yield annotation


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    for leaf in _leaves(annotation):
        if isinstance(leaf, type) and issubclass(leaf, BaseModel):
            return leaf
    return None
