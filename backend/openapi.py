"""/v1/openapi.json (OpenAPI 3, built with apispec from the declared operations and their
marshmallow schemas) and /v1/docs, a server-rendered page listing the same document."""
from __future__ import annotations

import functools
import re
from collections import defaultdict

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, jsonify, render_template

from backend import admin_schemas as S
from backend.admin_api import operations
from configstore.accounts import ROLE_NAMES_ZH

bp = Blueprint("api_docs", __name__, template_folder="templates")

_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_STANDARD_ERRORS = {
    "400": "请求参数无效（逐字段说明见 error.details）",
    "401": "未认证：缺少或无效的 Bearer 令牌",
    "403": "当前角色无权执行此操作",
    "404": "资源不存在",
    "409": "与现有状态冲突",
}


def _schema_name(schema) -> str:
    return (schema if isinstance(schema, type) else type(schema)).__name__


@functools.lru_cache(maxsize=1)
def build_spec() -> dict:
    spec = APISpec(
        title="Liveboard 组织者 API", version="1.0.0", openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={"description": "湘西州直播带货活动的组织者接口。认证：`Authorization: Bearer <令牌>`（在控制台"
                             "“API 令牌”页或 `liveboard admin token` 创建）。错误统一为 "
                             '`{"error": {"code", "message", "details"}}`，message 为简体中文。'},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=S.Error)
    by_path: dict[str, dict] = defaultdict(dict)
    for op in _all_operations():
        parameters = [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
                      for name in _path_params(op.path)]
        parameters += [{"in": "query", "name": name, "required": False, "schema": {"type": kind},
                        "description": description} for name, kind, description in op.query]
        success: dict = {"description": "成功"}
        if op.response is not None:
            schema = _ref(spec, op.response)
            if op.many:  # a list under one key, e.g. {"sources": [...]}
                schema = {"type": "object", "properties": {op.many: {"type": "array", "items": schema}}}
            success["content"] = {"application/json": {"schema": schema}}
        responses = {str(op.status): success}
        for code, text in _STANDARD_ERRORS.items():
            if code == "403" and op.role == "viewer" and not op.writes:
                continue
            responses[code] = {"description": text, "content": {"application/json": {"schema": _ERROR_REF}}}
        item = {
            "operationId": op.endpoint, "summary": op.summary, "tags": [op.tag],
            "description": f"所需角色：{ROLE_NAMES_ZH[op.role]}（{op.role}）及以上",
            "security": [{"bearer": []}], "parameters": parameters, "responses": responses,
            "x-required-role": op.role,
        }
        if op.body is not None:
            item["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(spec, op.body)}}}
        if op.multipart:
            item["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary", "description": ".csv 或 .xlsx"}}}}}}
        by_path[op.path][op.method.lower()] = item
    for path, items in by_path.items():
        spec.path(path=path, operations=items)
    return spec.to_dict()


def _all_operations() -> list:
    from backend.awards_api import operations as award_operations

    return operations() + award_operations()


def _ref(spec: APISpec, schema: type) -> dict:
    name = _schema_name(schema)
    if name not in spec.components.schemas:
        spec.components.schema(name, schema=schema)
    return {"$ref": f"#/components/schemas/{name}"}


def _path_params(path: str) -> list[str]:
    return re.findall(r"{(\w+)}", path)


@bp.get("/v1/openapi.json")
def openapi_json():
    return jsonify(build_spec())


@bp.get("/v1/docs")
def docs_page():
    document = build_spec()
    groups: dict[str, list[dict]] = defaultdict(list)
    for path, items in document["paths"].items():
        for method, item in items.items():
            body = (item.get("requestBody") or {}).get("content", {})
            schema = next(iter(body.values()), {}).get("schema") if body else None
            groups[item["tags"][0]].append({"method": method.upper(), "path": path, "item": item,
                                            "body": _fields(document, schema)})
    return render_template("api_docs.html", document=document, groups=groups, roles=ROLE_NAMES_ZH)


def _fields(document: dict, schema: dict | None) -> list[dict]:
    """The request fields of a body schema, resolved from the document's components."""
    if not schema:
        return []
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    required = set(schema.get("required", []))
    return [{"name": name, "type": prop.get("type") or prop.get("format") or "object",
             "format": prop.get("format", ""), "enum": prop.get("enum") or prop.get("items", {}).get("enum"),
             "description": prop.get("description", ""), "required": name in required}
            for name, prop in schema.get("properties", {}).items()]
