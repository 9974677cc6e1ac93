"""Name every offending field of a rejected request body, not only the first one msgspec met."""

from __future__ import annotations

from functools import cache
from typing import Any, get_type_hints

import msgspec


@cache
def _field_types(struct_type: type[msgspec.Struct]) -> dict[str, tuple[Any, bool]]:
    hints = get_type_hints(struct_type, include_extras=True)
    info = msgspec.inspect.type_info(struct_type)
    assert isinstance(info, msgspec.inspect.StructType)
    return {field.encode_name: (hints[field.name], field.required) for field in info.fields}


def body_errors(body: bytes, struct_type: type[msgspec.Struct]) -> list[dict[str, str]]:
    """Every problem with ``body`` as a ``struct_type``: unknown, missing and invalid fields."""
    try:
        raw = msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        return [{"field": "", "message": f"malformed JSON: {error}"}]
    if not isinstance(raw, dict):
        return [{"field": "", "message": "expected a JSON object"}]
    fields = _field_types(struct_type)
    errors: list[dict[str, str]] = []
    if struct_type.__struct_config__.forbid_unknown_fields:
        errors.extend(
            {"field": str(key), "message": "unknown field"} for key in raw if key not in fields
        )
    for name, (field_type, required) in fields.items():
        if name not in raw:
            if required:
                errors.append({"field": name, "message": "required"})
            continue
        try:
            msgspec.json.decode(msgspec.json.encode(raw[name]), type=field_type)
        except msgspec.ValidationError as error:
            message, _, where = str(error).partition(" - at `$")
            errors.append({"field": name + where.rstrip("`"), "message": message})
    return errors
