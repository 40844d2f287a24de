"""Forgetting people through the API: a contractor, or the customer of one job.

`DELETE /api/v1/contractors/{external_id}` and `DELETE /api/v1/jobs/{external_id}`
do what `rapport forget` does (models.forget says what goes and why) and
answer with how many rows of each table were deleted.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from models.forget import NotFoundError, forget_contractor, forget_customer_response

__all__ = ["OPENAPI_PATHS", "delete_contractor", "delete_job", "routes"]


async def delete_contractor(request: Request) -> Response:
    """Forget a contractor: their pulse answers, links, jobs and the jobs' customer answers."""
    try:
        forgotten = await forget_contractor(external_id=request.path_params["external_id"])
    except NotFoundError as problem:
        return JSONResponse({"error": str(problem)}, status_code=404)
    return JSONResponse({"forgotten": forgotten.as_dict()})


async def delete_job(request: Request) -> Response:
    """Forget the customer of a job: their answers, the job and its survey link."""
    try:
        forgotten = await forget_customer_response(job_external_id=request.path_params["external_id"])
    except NotFoundError as problem:
        return JSONResponse({"error": str(problem)}, status_code=404)
    return JSONResponse({"forgotten": forgotten.as_dict()})


routes: list[BaseRoute] = [
    Route("/api/v1/contractors/{external_id}", delete_contractor, methods=["DELETE"]),
    Route("/api/v1/jobs/{external_id}", delete_job, methods=["DELETE"]),
]

_FORGOTTEN: dict[str, Any] = {
    "description": "Deleted; how many rows of each table went.",
    "content": {"application/json": {"schema": {
        "type": "object",
        "properties": {"forgotten": {"type": "object", "additionalProperties": {"type": "integer"}}},
    }}},
}
_NOT_FOUND = {"description": "Nobody has that external id; nothing was deleted.",
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_EXTERNAL_ID = {"name": "external_id", "in": "path", "required": True, "schema": {"type": "string"}}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/contractors/{external_id}": {
        "delete": {
            "summary": "Forget a contractor (GDPR Art. 17)",
            "description": "Deletes the contractor, their pulse answers, scores and links, their jobs and "
            "the jobs' customer answers, in one transaction. Nothing left names them.",
            "parameters": [_EXTERNAL_ID],
            "responses": {"200": _FORGOTTEN, "404": _NOT_FOUND, "401": {"description": "Missing or unknown API key."}},
        }
    },
    "/api/v1/jobs/{external_id}": {
        "delete": {
            "summary": "Forget the customer of a job (GDPR Art. 17)",
            "description": "Deletes the job's customer answers, the job and its survey link, in one transaction.",
            "parameters": [_EXTERNAL_ID],
            "responses": {"200": _FORGOTTEN, "404": _NOT_FOUND, "401": {"description": "Missing or unknown API key."}},
        }
    },
}
