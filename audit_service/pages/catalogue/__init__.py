"""What the auditor's pages say, in Chinese (the default: the hotline's own language) and in
English. `Messages` is a frozen dataclass, so a language that misses a label fails at import,
and the templates read it under StrictUndefined, so a label nobody defined fails at render.

Facts are told as sentences: `facts` maps each fact type to the parts of its sentence (see
audit_service.pages.sentences); `words` turns the contracts' enum values into words."""

from audit_service.pages.catalogue import en, zh
from audit_service.pages.catalogue.model import Catalogue, Figure, Lang, Messages, Sentence

CATALOGUES: dict[Lang, Catalogue] = {"zh": zh.CATALOGUE, "en": en.CATALOGUE}

__all__ = ["CATALOGUES", "Catalogue", "Figure", "Lang", "Messages", "Sentence"]
