"""One error hierarchy: every error the API can answer with has its own status and code."""

from __future__ import annotations


class SightlineError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, *messages: str) -> None:
        self.messages = list(messages) or [self.__class__.__doc__ or self.code]
        super().__init__("; ".join(self.messages))


class BadRequest(SightlineError):
    """The request is not valid."""

    status_code = 400
    code = "bad_request"


class Unauthorized(SightlineError):
    """Missing or invalid credentials."""

    status_code = 401
    code = "unauthorized"


class Forbidden(SightlineError):
    """The credentials do not allow this."""

    status_code = 403
    code = "forbidden"


class NotFound(SightlineError):
    """Not found."""

    status_code = 404
    code = "not_found"


class Conflict(SightlineError):
    """The resource already exists or is in a conflicting state."""

    status_code = 409
    code = "conflict"


class PayloadTooLarge(SightlineError):
    """The request body is too large."""

    status_code = 413
    code = "payload_too_large"
