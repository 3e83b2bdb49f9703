"""Turn pydantic's ValidationError into diagnostics a person can act on (file, line, field, fix)."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from mgc_iac.diagnostics import Diagnostic, Diagnostics, Severity
from mgc_iac.stack.models import NAME_PATTERN, Stack
from mgc_iac.stack.sourcemap import Loc, SourceMap, format_loc


def validation_diagnostics(exc: ValidationError, source_map: SourceMap) -> Diagnostics:
    diags = Diagnostics()
    for err in exc.errors(include_url=False):
        loc: Loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        message, fix = _explain(err, loc)
        file, line = source_map.locate(loc)
        diags.items.append(Diagnostic(Severity.ERROR, message, format_loc(loc), fix, file, line, rule="schema"))
    return diags


def _explain(err: Any, loc: Loc) -> tuple[str, str]:
    kind = err["type"]
    field = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        valid = _fields_at(loc[:-1])
        close = difflib.get_close_matches(field, valid, n=1, cutoff=0.5)
        hint = f"did you mean `{close[0]}`?" if close else f"valid fields here: {', '.join(sorted(valid))}"
        return f"unknown field `{field}`", hint
    if kind == "missing":
        other = " (or `http:` for an HTTP check)" if "CommandCheck" in loc else ""  # a check is one of two shapes
        return f"required field `{field}` is missing", f"add `{field}:` here{other}"
    if kind == "string_pattern_mismatch":
        if field in ("from", "to"):
            return f"{_shown(err['input'])} is not a server address", "write workflow/server, e.g. shop-wave-1/web-01"
        if (err.get("ctx") or {}).get("pattern") == NAME_PATTERN:
            return (f"{_shown(err['input'])} is not a valid name",
                    "use lower-case letters, digits, '.', '_' and '-' (at most 64, starting and ending alphanumeric)")
        if field in _FORMS:
            return f"{_shown(err['input'])} is not {_FORMS[field][0]}", _FORMS[field][1]
        return f"{_shown(err['input'])} does not match {(err.get('ctx') or {}).get('pattern')}", "fix its form"
    if kind in ("literal_error", "enum"):
        return f"{_shown(err['input'])} is not allowed: {err['msg']}", "use one of the listed values"
    value = err.get("input")
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        # YAML 1.1 reads 7.10 as the float 7.1 and 12:30 as the sexagesimal 750
        meant = f"{int(value) // 60:02d}:{int(value) % 60:02d}" if field == "start" and int(value) == value \
            else _shown(value)
        return (f"YAML read this as the number {_shown(value)}, not as text",
                f"quote it, e.g. {field}: \"{meant}\" (write the value exactly as meant, in quotes)")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"wrong type: {err['msg']} (got {_shown(value)})", "write a value of the expected type"
    bound = _BOUNDS.get(kind)
    if bound is not None:
        limit = (err.get("ctx") or {}).get(bound[0])
        return f"{_shown(value)} is out of range: {err['msg'].lower()}", bound[1].format(limit)
    msg = err["msg"].removeprefix("Value error, ")
    return msg, ""


# fields with a pattern of their own: what the value should be, and how to write it
_FORMS = {"start": ("a time of day", 'write 24-hour HH:MM in quotes, e.g. start: "22:00"'),
          "http": ("an http(s) URL", "write the URL with its scheme, e.g. http://{ip}:8080/health")}

_BOUNDS = {"greater_than": ("gt", "use a value above {}"), "greater_than_equal": ("ge", "use {} or more"),
           "less_than": ("lt", "use a value below {}"), "less_than_equal": ("le", "use {} or less"),
           "too_short": ("min_length", "give at least {} item(s) or character(s)"),
           "too_long": ("max_length", "give at most {} item(s) or character(s)")}


def _shown(value: Any) -> str:
    """A value for a message: short, and never a whole expanded structure."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fields_at(loc: Loc) -> list[str]:
    """Field names (by alias) of the model found at `loc`, for did-you-mean hints."""
    model: Any = Stack
    annotation: Any = Stack
    for part in loc:
        if isinstance(part, int):
            annotation = _item_type(annotation)
            continue
        member = next((t for t in _unwrap(annotation) if getattr(t, "__name__", None) == part), None)
        if member is not None:  # pydantic names the union member it tried (e.g. HttpCheck): its fields count
            annotation = member
            continue
        model = _as_model(annotation)
        if model is None:
            # a dict key (e.g. a server name under `servers:`) selects the dict's value type
            annotation = _item_type(annotation)
            model = _as_model(annotation)
            if model is None:
                return []
            continue
        fields = {(f.alias or name): f for name, f in model.model_fields.items()}
        fields.update(model.model_fields)
        info = fields.get(part)
        if info is None:
            annotation = _item_type(annotation)
            continue
        annotation = info.annotation
    model = _as_model(annotation)
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _unwrap(annotation: Any) -> list[Any]:
    """The types a field may hold: Optional, unions and Annotated (a tagged union's members too) opened."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(annotation) if a is not type(None) for t in _unwrap(a)]
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    return [annotation]


def _as_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in _unwrap(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _item_type(annotation: Any) -> Any:
    for candidate in _unwrap(annotation):
        args = typing.get_args(candidate)
        if typing.get_origin(candidate) in (list, tuple, set) and args:
            return args[0]
        if typing.get_origin(candidate) is dict and len(args) == 2:
            return args[1]
    return annotation
