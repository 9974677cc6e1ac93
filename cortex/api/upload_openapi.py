"""The OpenAPI request body of the upload routes, which read the request stream themselves."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType

_BINARY = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
_PASTE = Schema(
    type=OpenAPIType.OBJECT,
    required=["title", "text"],
    properties={
        "title": Schema(type=OpenAPIType.STRING, min_length=1, max_length=300),
        "text": Schema(type=OpenAPIType.STRING, min_length=1),
        "filename": Schema(
            type=OpenAPIType.STRING,
            min_length=1,
            max_length=255,
            description="e.g. notes.md: tells the text's format; else it is sniffed",
        ),
    },
)


def _body(many: bool) -> RequestBody:
    files = Schema(type=OpenAPIType.ARRAY, items=_BINARY) if many else _BINARY
    return RequestBody(
        required=True,
        description="Files as multipart/form-data (field `file`), or pasted text as JSON",
        content={
            "multipart/form-data": OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.OBJECT, required=["file"], properties={"file": files}
                )
            ),
            "application/json": OpenAPIMediaType(schema=_PASTE),
        },
    )


@dataclass
class UploadFilesOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = _body(many=True)


@dataclass
class UploadVersionOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = _body(many=False)
