"""The event contract at runtime: load the versioned JSON Schema, validate, normalise.

Validation runs twice only on failure: a compiled fastjsonschema validator (the schema without its
per-type clauses, which are applied as look-ups: see `_conditional_rules`) is the fast path (one
pass, stops at the first error); when it rejects, jsonschema lists *every* invalid field against
the whole schema so the caller can name them all in a 400.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import fastjsonschema

SCHEMA_VERSION = "v1"
EVENT_TYPES = ("order.paid", "order.refunded", "live.started", "live.ended")
ORDER_TYPES = ("order.paid", "order.refunded")

# ClickHouse DateTime is UInt32 seconds; anything outside this window is a client bug.
EARLIEST_OCCURRED_AT = datetime(2015, 1, 1, tzinfo=timezone.utc)
MAX_FUTURE_SKEW = timedelta(days=1)


def load_schema(name: str) -> dict[str, Any]:
    text = resources.files("schemas").joinpath(f"events/{SCHEMA_VERSION}/{name}.schema.json").read_text("utf-8")
    return json.loads(text)


EVENT_SCHEMA = load_schema("sales-event")

if TYPE_CHECKING:
    import jsonschema


@cache
def _full_validator() -> jsonschema.Draft7Validator:
    """The schema's full validator, for naming what is wrong with an invalid event. jsonschema (and
    its referencing/rpds, ~8 MiB) loads with the first invalid event: valid ones take the compiled path."""
    import jsonschema

    return jsonschema.Draft7Validator(EVENT_SCHEMA)


def _conditional_rules(schema: dict[str, Any]) -> dict[str, tuple[tuple[str, ...], dict[str, int]]]:
    """The schema's per-type rules (allOf of if type == X then required + minimums), as data.

    fastjsonschema compiles an `if` that does not hold into a raised exception (with the whole
    clause built as its `definition`): three of the four clauses fail for every event, which was
    most of the validation time. The fast path compiles the schema without them and applies these
    rules as dictionary look-ups; the schema file stays the one source of both."""
    rules: dict[str, tuple[tuple[str, ...], dict[str, int]]] = {}
    for clause in schema.get("allOf", []):
        condition, then = clause["if"], clause["then"]
        if set(clause) != {"if", "then"} or condition.get("required") != ["type"] \
                or set(condition["properties"]) != {"type"} or not set(then) <= {"required", "properties"} \
                or any(set(rule) != {"minimum"} for rule in then.get("properties", {}).values()):
            raise ValueError("sales-event.schema.json: allOf clauses must be `if type == X then required/minimum`")
        rules[condition["properties"]["type"]["const"]] = (
            tuple(then.get("required", ())),
            {name: rule["minimum"] for name, rule in then.get("properties", {}).items()})
    return rules


_fast_validate = fastjsonschema.compile({k: v for k, v in EVENT_SCHEMA.items() if k != "allOf"})
_BY_TYPE = _conditional_rules(EVENT_SCHEMA)


def _meets_type_rules(item: dict[str, Any]) -> bool:
    rule = _BY_TYPE.get(item["type"])
    if rule is None:
        return True
    required, minimums = rule
    for name in required:
        if name not in item:
            return False
    for name, minimum in minimums.items():
        value = item.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < minimum:
            return False
    return True

# Chinese messages for people, keyed by the JSON Schema keyword that failed.
_MESSAGES_ZH = {
    "required": "缺少必填字段",
    "type": "类型错误",
    "enum": "取值不在允许范围内",
    "pattern": "格式不正确",
    "minimum": "数值过小",
    "maximum": "数值过大",
    "minLength": "内容过短",
    "maxLength": "内容过长",
    "const": "取值不正确",
}


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass
class Validated:
    """A normalised, valid event: the original item plus parsed UTC time."""

    event: dict[str, Any]
    occurred_at_utc: datetime


@dataclass
class Invalid:
    errors: list[FieldError] = field(default_factory=list)


def _field_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        # jsonschema reports the missing name only in the message; pull it out of the instance.
        missing = [name for name in error.validator_value if name not in (error.instance or {})]
        if missing:
            parts.append(missing[0])
    return ".".join(parts) or "$"


def _list_errors(item: Any) -> list[FieldError]:
    found: dict[tuple[str, str], FieldError] = {}
    for error in _full_validator().iter_errors(item):
        if error.validator in ("allOf", "if", "then"):
            continue
        if error.validator == "required":
            for name in error.validator_value:
                if isinstance(error.instance, dict) and name not in error.instance:
                    path = ".".join([*map(str, error.absolute_path), name])
                    found.setdefault((path, "required"), FieldError(path, "required", _MESSAGES_ZH["required"]))
            continue
        path = _field_path(error)
        code = str(error.validator)
        found.setdefault((path, code), FieldError(path, code, _MESSAGES_ZH.get(code, "字段无效")))
    return sorted(found.values(), key=lambda e: (e.field, e.code))


def parse_rfc3339(value: str) -> datetime:
    """RFC 3339 with a mandatory offset -> aware UTC datetime (microseconds dropped: stored in seconds)."""
    parsed = datetime.fromisoformat(value.replace("z", "Z"))
    if parsed.tzinfo is None:
        raise ValueError("offset required")
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError as exc:  # e.g. 9999-12-31T23:59:59-01:00 is past year 9999 in UTC
        raise TimeOutOfRange(value) from exc


class TimeOutOfRange(ValueError):
    """Well-formed, but its UTC lies outside what a datetime can hold."""


def validate_event(item: Any, *, now: datetime | None = None) -> Validated | Invalid:
    """Validate one event against the v1 contract and the rules a schema cannot say."""
    if not isinstance(item, dict):
        return Invalid([FieldError("$", "type", "事件必须是 JSON 对象")])
    try:
        _fast_validate(item)
        valid = _meets_type_rules(item)
    except fastjsonschema.JsonSchemaException:
        valid = False
    if not valid:
        errors = _list_errors(item)
        return Invalid(errors or [FieldError("$", "invalid", "事件无效")])
    try:
        occurred = parse_rfc3339(item["occurred_at"])
    except TimeOutOfRange:
        return Invalid([FieldError("occurred_at", "out_of_range", "时间超出可表示的范围")])
    except ValueError:
        return Invalid([FieldError("occurred_at", "format", "时间格式不正确，需为带时区的 RFC 3339 时间")])
    now = now or datetime.now(timezone.utc)
    if occurred < EARLIEST_OCCURRED_AT:
        return Invalid([FieldError("occurred_at", "too_old", "时间早于 2015-01-01")])
    if occurred > now + MAX_FUTURE_SKEW:
        return Invalid([FieldError("occurred_at", "in_future", "时间晚于当前时间超过一天")])
    region = item.get("region_code")
    if region and region[:6] != item.get("county"):
        return Invalid([FieldError("region_code", "not_in_county", "乡镇或村的区划代码不在所填县市（county）之下")])
    return Validated(event=item, occurred_at_utc=occurred)
