"""Exceptions -> RFC 9457 problem+json responses. Bad input is 4xx, never a 500."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from cortex.api.schemas.common import Problem
from cortex.api.validation import body_errors
from cortex.application.errors import NotFound, VersionConflict
from cortex.domain.errors import AggregateGone, DomainError, InvalidInput, InvalidTransition
from cortex.ingest.errors import RejectedUpload
from cortex.lanes.gateway import LaneRejected, NoLaneAnswered
from cortex.storage.base import StorageUnavailable

logger = structlog.get_logger("cortex.api")
PROBLEM_JSON = "application/problem+json"
_FIELD = re.compile(r"at `\$\.?([^`]*)`")


class ProjectionBehind(Exception):
    """The read model has not reached the position the caller asked to read after."""

    def __init__(self, projection: str, position: int, wanted: int) -> None:
        super().__init__(f"the {projection} read model is at {position}, not yet at {wanted}")
        self.projection = projection


class InvalidQuery(Exception):
    """A query parameter that is well-typed but unusable (a forged cursor)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


_DESCRIPTIONS = {
    400: "Malformed request or invalid fields (each listed in `errors`)",
    404: "No such resource",
    409: "Version conflict (`current_version`) or a change the current state forbids",
    413: "Request body or a file too large (or an archive expanding beyond the limits)",
    415: "A file type that is not accepted (sniffed from the content, not the declared type)",
    422: "A well-typed value that cannot be used",
    502: "The model lane's server refused the request (not retried)",
    503: "Read model not caught up with `after` yet, storage down, or no model lane answered"
    " (see Retry-After)",
}


def problem_responses(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem responses a route can give."""
    return {
        code: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=_DESCRIPTIONS[code],
            generate_examples=False,
        )
        for code in codes
    }


COMMAND_PROBLEMS = problem_responses(400, 404, 409, 413, 422)
QUERY_PROBLEMS = problem_responses(400, 404, 422, 503)


def _respond(request: Request[Any, Any, Any], problem: Problem, **headers: str) -> Response[bytes]:
    return Response(
        content=msgspec.json.encode(problem),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers={"Content-Type": PROBLEM_JSON, **headers},
    )


def _validation_errors(exc: ValidationException) -> list[dict[str, Any]]:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", ""))
        field = item.get("key") or ""
        match = _FIELD.search(message)
        if match:
            field = match.group(1) or field
            message = message[: match.start()].rstrip(" -")
        errors.append({"field": field, "source": item.get("source", "body"), "message": message})
    return errors


def _body_errors(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
    """All field errors of the request body, when the route takes a msgspec Struct body."""
    body = request._connection_state.body  # set once the body was read; never re-read here
    data_field = request.route_handler.parsed_data_field
    if not isinstance(body, bytes) or data_field is None:
        return []
    struct_type = data_field.annotation
    if not (isinstance(struct_type, type) and issubclass(struct_type, msgspec.Struct)):
        return []
    return [{**error, "source": "body"} for error in body_errors(body, struct_type)]


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc)
        if any(error["source"] == "body" for error in errors):
            errors = _body_errors(request) or errors
        fields = ", ".join(error["field"] for error in errors if error["field"])
        detail = f"invalid value for {fields}" if fields else str(exc.detail)
        problem = Problem(
            title="Invalid request",
            status=exc.status_code,
            detail=detail,
            instance=request.url.path,
            errors=errors,
        )
        return _respond(request, problem)
    problem = Problem(
        title=_title(exc.status_code),
        status=exc.status_code,
        detail=str(exc.detail),
        instance=request.url.path,
    )
    return _respond(request, problem, **(exc.headers or {}))


def handle_domain_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    path = request.url.path
    if isinstance(exc, NotFound | AggregateGone):
        problem = Problem(
            title="Not found", status=HTTP_404_NOT_FOUND, detail=str(exc), instance=path
        )
    elif isinstance(exc, VersionConflict):
        problem = Problem(
            title="Version conflict",
            status=HTTP_409_CONFLICT,
            detail=str(exc),
            instance=path,
            current_version=exc.current,
        )
        return _respond(request, problem, ETag=f'"{exc.current}"')
    elif isinstance(exc, InvalidTransition):
        problem = Problem(
            title="Conflict with the current state",
            status=HTTP_409_CONFLICT,
            detail=exc.reason,
            instance=path,
            current_status=exc.current_status,
        )
    elif isinstance(exc, InvalidInput | InvalidQuery):
        problem = Problem(
            title="Invalid request",
            status=HTTP_422_UNPROCESSABLE_ENTITY,
            detail=str(exc),
            instance=path,
            errors=[{"field": exc.field, "message": exc.message}],
        )
    elif isinstance(exc, ProjectionBehind):
        problem = Problem(
            title="Read model not caught up",
            status=HTTP_503_SERVICE_UNAVAILABLE,
            detail=str(exc),
            instance=path,
        )
        return _respond(request, problem, **{"Retry-After": "1"})
    elif isinstance(exc, DomainError):
        problem = Problem(title="Refused", status=HTTP_409_CONFLICT, detail=str(exc), instance=path)
    else:
        return handle_unexpected(request, exc)
    return _respond(request, problem)


def handle_rejected_upload(request: Request[Any, Any, Any], exc: RejectedUpload) -> Response[bytes]:
    problem = Problem(
        title=_title(exc.status),
        status=exc.status,
        detail=str(exc),
        instance=request.url.path,
        errors=[{"field": "file", "file": exc.file, "message": exc.message}] if exc.file else [],
    )
    return _respond(request, problem)


def handle_storage_unavailable(
    request: Request[Any, Any, Any], exc: StorageUnavailable
) -> Response[bytes]:
    logger.warning("storage_unavailable", path=request.url.path, error=str(exc))
    problem = Problem(
        title="Storage unavailable",
        status=HTTP_503_SERVICE_UNAVAILABLE,
        detail="object storage cannot be reached; nothing was recorded, try again",
        instance=request.url.path,
    )
    return _respond(request, problem, **{"Retry-After": "5"})


def handle_no_lane_answered(
    request: Request[Any, Any, Any], exc: NoLaneAnswered
) -> Response[bytes]:
    problem = Problem(
        title="No model lane available",
        status=HTTP_503_SERVICE_UNAVAILABLE,
        detail=str(exc),
        instance=request.url.path,
        errors=[{"field": "lane", "message": reason} for reason in exc.reasons],
    )
    return _respond(request, problem, **{"Retry-After": "10"})


def handle_lane_rejected(request: Request[Any, Any, Any], exc: LaneRejected) -> Response[bytes]:
    # The model server refused the request itself (too long, unknown model): a bad gateway
    # answer, not ours to retry.
    problem = Problem(
        title="Model lane refused the request",
        status=502,
        detail=str(exc),
        instance=request.url.path,
    )
    return _respond(request, problem)


def handle_undecodable_body(
    request: Request[Any, Any, Any], exc: UnicodeDecodeError
) -> Response[bytes]:
    problem = Problem(
        title="Invalid request",
        status=HTTP_400_BAD_REQUEST,
        detail="the request body is not valid UTF-8",
        instance=request.url.path,
    )
    return _respond(request, problem)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    logger.error(
        "request_failed", path=request.url.path, error_type=type(exc).__name__, exc_info=exc
    )
    problem = Problem(
        title="Internal server error",
        status=HTTP_500_INTERNAL_SERVER_ERROR,
        detail="the server failed; the error was logged",
        instance=request.url.path,
    )
    return _respond(request, problem)


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    HTTPException: handle_http_exception,
    DomainError: handle_domain_error,
    NotFound: handle_domain_error,
    VersionConflict: handle_domain_error,
    ProjectionBehind: handle_domain_error,
    InvalidQuery: handle_domain_error,
    UnicodeDecodeError: handle_undecodable_body,
    RejectedUpload: handle_rejected_upload,
    StorageUnavailable: handle_storage_unavailable,
    NoLaneAnswered: handle_no_lane_answered,
    LaneRejected: handle_lane_rejected,
    Exception: handle_unexpected,
}
