"""The SDK's models as a contract: check a JSON value against an SDK model's openapi_types/attribute_map.

Used both ways: the client builds request bodies only from declared fields (`as_model`), and the lab checks
every answer before it is sent (mgc_iac.lab.contract). A key the model does not declare, or a value of another
type than the declared one, is a problem; null is accepted for any field (the SDK reads it as None).
The one documented gap of the SDK (mgc_iac.cloud._sdk_gaps) replaces the SDK's model where it applies.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from types import ModuleType
from typing import Any

from mgc_iac.cloud._sdk_gaps import DOCUMENTED_MODELS, LOCAL_MODELS

_LIST = re.compile(r"^list\[(.*)\]$")
_DICT = re.compile(r"^dict\(([^,]*), (.*)\)$")
_PRIMITIVE: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,),
                                           "decimal.Decimal": (int, float, Decimal)}  # BSS amounts (a JSON number)


class ContractError(ValueError):
    """A value that the SDK model does not declare, or declares with another type."""


def model_class(package: ModuleType, name: str) -> Any:
    """The model named `name` in an SDK package (e.g. huaweicloudsdksms.v3), or the documented replacement."""
    return DOCUMENTED_MODELS.get(name) or LOCAL_MODELS.get(name) or getattr(package, name)


@cache
def _json_keys(model: Any) -> dict[str, str]:
    """JSON key -> declared type, from the model's attribute_map (python name -> JSON key)."""
    return {model.attribute_map[attr]: kind for attr, kind in model.openapi_types.items()}


def problems(value: Any, kind: str, package: ModuleType, path: str = "$", limit: int = 20) -> list[str]:
    """Every place where `value` leaves the declared type `kind` ("ShowTaskResponse", "list[SubTask]", "int")."""
    if _fits(value, kind, package):
        return []                    # the common case, without building a path for every field
    found: list[str] = []
    _walk(value, kind, package, path, found, limit)
    return found


def _fits(value: Any, kind: str, package: ModuleType) -> bool:
    """Whether `value` fits `kind` (what _walk checks, without the messages)."""
    if value is None:
        return True
    tag, inner = _shape(kind)
    if tag == "primitive":
        return isinstance(value, _PRIMITIVE[kind]) and (kind == "bool" or not isinstance(value, bool))
    if tag == "text":
        return isinstance(value, str)
    if tag == "list":
        return isinstance(value, list) and all(_fits(item, inner, package) for item in value)
    if tag == "dict":
        return isinstance(value, dict) and all(_fits(item, inner, package) for item in value.values())
    if tag == "model":
        if not isinstance(value, dict):
            return False
        declared = _model_keys(package, kind)
        for key, item in value.items():
            field_kind = declared.get(key)
            if field_kind is None:
                return False
            allowed = _PRIMITIVE.get(field_kind)
            if allowed is not None:          # most fields: checked here, without a call
                if item is not None and (not isinstance(item, allowed)
                                         or (field_kind != "bool" and isinstance(item, bool))):
                    return False
            elif not _fits(item, field_kind, package):
                return False
    return True


@cache
def _shape(kind: str) -> tuple[str, str]:
    """("primitive"|"object"|"text"|"list"|"dict"|"model", inner kind) of a declared type, parsed once."""
    if kind in _PRIMITIVE:
        return "primitive", kind
    if kind == "object":
        return "object", ""
    if kind in ("date", "datetime"):
        return "text", kind
    match = _LIST.match(kind)
    if match:
        return "list", match.group(1)
    match = _DICT.match(kind)
    if match:
        return "dict", match.group(2)
    return "model", kind


@cache
def _model_keys(package: ModuleType, kind: str) -> dict[str, str]:
    return _json_keys(model_class(package, kind))


def _walk(value: Any, kind: str, package: ModuleType, path: str, found: list[str], limit: int) -> None:
    if value is None or len(found) >= limit:
        return
    tag, inner = _shape(kind)
    if tag == "primitive":
        if not isinstance(value, _PRIMITIVE[kind]) or (kind != "bool" and isinstance(value, bool)):
            found.append(f"{path}: {type(value).__name__} where the SDK declares {kind}")
    elif tag == "text":
        if not isinstance(value, str):
            found.append(f"{path}: {type(value).__name__} where the SDK declares {kind} (a string)")
    elif tag == "list":
        if not isinstance(value, list):
            found.append(f"{path}: {type(value).__name__} where the SDK declares {kind}")
            return
        for n, item in enumerate(value):
            _walk(item, inner, package, f"{path}[{n}]", found, limit)
    elif tag == "dict":
        if not isinstance(value, dict):
            found.append(f"{path}: {type(value).__name__} where the SDK declares {kind}")
            return
        for key, item in value.items():
            _walk(item, inner, package, f"{path}.{key}", found, limit)
    elif tag == "model":
        if not isinstance(value, dict):
            found.append(f"{path}: {type(value).__name__} where the SDK declares the object {kind}")
            return
        declared = _model_keys(package, kind)
        for key, item in value.items():
            if key not in declared:
                found.append(f"{path}.{key}: not declared by {kind}")
            elif item is not None:
                _walk(item, declared[key], package, f"{path}.{key}", found, limit)


def coverage(value: Any, kind: str, package: ModuleType,
             seen: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
    """Model name -> the declared JSON keys `value` carries, for every model met inside it (nested too)."""
    seen = {} if seen is None else seen
    if value is None:
        return seen
    tag, inner = _shape(kind)
    if tag == "list" and isinstance(value, list):
        for item in value:
            coverage(item, inner, package, seen)
    elif tag == "dict" and isinstance(value, dict):
        for item in value.values():
            coverage(item, inner, package, seen)
    elif tag == "model" and isinstance(value, dict):
        keys = _model_keys(package, kind)
        mine = seen.setdefault(kind, set())
        for key, item in value.items():
            if key in keys:
                mine.add(key)
                coverage(item, keys[key], package, seen)
    return seen


def declared(package: ModuleType, kind: str) -> dict[str, str]:
    """The JSON keys a model declares, with their types."""
    return dict(_json_keys(model_class(package, kind)))


def as_model(client: Any, kind: str, value: dict[str, Any]) -> Any:
    """An SDK request model built from `value`, refused if any key or type is not what the model declares
    (the SDK itself would silently drop an unknown key)."""
    package = client.model_package
    wrong = problems(value, kind, package)
    if wrong:
        raise ContractError(f"{kind}: " + "; ".join(wrong))
    return client._deserialize(value, kind)
