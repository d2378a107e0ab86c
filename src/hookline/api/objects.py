"""``/v1/objects``: the platform objects hookline keeps to enrich payloads (upsert one, upsert many, read)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from hookline.api import render
from hookline.api.deps import Caller, Ctx, MerchantId, TimeQuery, json_body
from hookline.api.render import JSON
from hookline.core import snapshot
from hookline.core.errors import Invalid
from hookline.core.models import ObjectVersion
from hookline.service import auth, objects, time_inputs

router = APIRouter(prefix="/v1/objects", tags=["objects"])

KIND = {"type": "string", "enum": list(snapshot.KINDS)}
# The bodies are read by hand (below), so the OpenAPI document describes them here.
_OBJECT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object", "description": "the object's data"}}},
    }
}
_BULK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["objects"],
                    "properties": {
                        "merchant": {"type": "string"},
                        "objects": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 500,
                            "items": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["kind", "public_id", "data"],
                                "properties": {
                                    "kind": KIND,
                                    "public_id": {"type": "string", "minLength": 1, "maxLength": 100},
                                    "data": {"type": "object"},
                                },
                            },
                        },
                    },
                }
            }
        },
    }
}


def _object(current: ObjectVersion) -> dict[str, Any]:
    return {
        "kind": current.kind,
        "public_id": current.public_id,
        "data": current.data,
        "updated": render.iso(current.updated),
    }


@router.put("/{kind}/{public_id}", openapi_extra=_OBJECT_BODY)
async def put_object(kind: str, public_id: str, request: Request, ctx: Ctx, merchant_id: MerchantId) -> JSON:
    """Upsert one object's REST representation (Ordergroove's field names): the whole copy is replaced, and
    the one it replaces is kept as an earlier version."""
    return JSON(_object(await objects.put(ctx, merchant_id, kind, public_id, await json_body(request))))


@router.get("/{kind}/{public_id}")
async def get_object(
    kind: str, public_id: str, ctx: Ctx, merchant_id: MerchantId, at: TimeQuery = None
) -> JSON:
    """The object's REST representation, with its identity field; ``?at=`` (ISO 8601 or epoch seconds):
    the version valid at that time, with the span it was valid in (``valid_until`` null: still current)."""
    when = time_inputs.parse_time(at, "at")
    if when is None:
        return JSON(_object(await objects.get(ctx, merchant_id, kind, public_id)))
    version = await objects.version_at(ctx, merchant_id, kind, public_id, when)
    return JSON(
        {
            "kind": version.kind,
            "public_id": version.public_id,
            "data": version.data,
            "valid_from": render.iso(version.valid_from),
            "valid_until": render.iso(version.valid_until),
        }
    )


@router.post("", openapi_extra=_BULK_BODY)
async def put_objects(request: Request, ctx: Ctx, caller: Caller, merchant: str | None = None) -> JSON:
    """Upsert up to 500 objects ``{"objects": [{"kind", "public_id", "data"}]}``: all of them or none."""
    body = await json_body(request)
    if not isinstance(body, dict) or set(body) - {"objects", "merchant"}:
        raise Invalid('the body must be {"objects": [...]}', fields={"body": "not an objects list"})
    named = merchant or body.get("merchant")
    if named is not None and not isinstance(named, str):
        raise Invalid("merchant must be a merchant id", fields={"merchant": "not a string"})
    merchant_id = await auth.merchant_for(ctx, caller, named)
    return JSON(await objects.put_many(ctx, merchant_id, body.get("objects")))
