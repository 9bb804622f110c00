"""Domain refusals. Pure domain code raises these; the runtime answers them as problem+json."""


class DomainError(Exception):
    status = 409
    title = "Conflict"


class NotFoundError(DomainError):
    status = 404
    title = "Not Found"


class NotPermittedError(DomainError):
    """The caller may not do this to this appeal (e.g. another department's work order)."""

    status = 403
    title = "Forbidden"


class InvalidTransitionError(DomainError):
    """The appeal is not in a state where this can happen."""

    status = 409
    title = "Conflict"
