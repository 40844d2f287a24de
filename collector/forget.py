"""Forgetting people through the API: a contractor, or the customer of one job.

`DELETE /api/v1/contractors/{external_id}` and `DELETE /api/v1/jobs/{external_id}`
do what `rapport forget` does (models.forget says what goes and why) and
answer with how many rows of each table were deleted. Nobody with that id is
a 404 (models.forget.NotFoundError, mapped in collector.errors).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from collector.contract import Reply, operation
from collector.schemas import Forgotten
from models.forget import forget_contractor, forget_customer_response

__all__ = ["delete_contractor", "delete_job", "routes"]

_FORGOTTEN = {200: Reply("Deleted; how many rows of each table went.", Forgotten)}
_NOBODY = {404: "Nobody has that external id; nothing was deleted."}


@operation(summary="Forget a contractor (GDPR Art. 17)", responses=_FORGOTTEN, errors=_NOBODY,
           description="Deletes the contractor, their pulse answers, scores and links, their jobs and "
                       "the jobs' customer answers, in one transaction. Nothing left names them.")
async def delete_contractor(request: Request) -> Response:
    """Forget a contractor: their pulse answers, links, jobs and the jobs' customer answers."""
    forgotten = await forget_contractor(external_id=request.path_params["external_id"])
    return JSONResponse(Forgotten(forgotten=forgotten.as_dict()))


@operation(summary="Forget the customer of a job (GDPR Art. 17)", responses=_FORGOTTEN, errors=_NOBODY,
           description="Deletes the job's customer answers, the job and its survey link, in one transaction.")
async def delete_job(request: Request) -> Response:
    """Forget the customer of a job: their answers, the job and its survey link."""
    forgotten = await forget_customer_response(job_external_id=request.path_params["external_id"])
    return JSONResponse(Forgotten(forgotten=forgotten.as_dict()))


routes: list[BaseRoute] = [
    Route("/contractors/{external_id}", delete_contractor, methods=["DELETE"]),
    Route("/jobs/{external_id}", delete_job, methods=["DELETE"]),
]
