"""The admin JSON API under /api/v1 (links out) and the JSON answer endpoint for apps.

Handlers stay thin: each declares its contract (collector.contract), which
parses the body before it runs (a 400 names the field); it calls the query
layer and answers. The query layer's refusals become JSON errors in
collector.errors. The key guard is the API mount's middleware
(collector.access); POST /api/v1/responses/{token} is keyed by its token instead.
"""

from __future__ import annotations

import csv
import io

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from collector.answers import receive_answers
from collector.contract import Reply, by_method, operation, route
from collector.errors import ApiError
from collector.guards import ADMIN_LIMIT, SUBMISSION_LIMIT
from collector.schemas import (
    AnswerErrors,
    Contractor,
    ContractorIn,
    Invite,
    InvitesIn,
    JobIn,
    Link,
    Received,
    Submission,
    Surveys,
    Wave,
    WaveIn,
)
from collector.settings import link_url
from models import queries
from surveys.csvsafe import neutralise

__all__ = [
    "get_invites",
    "get_surveys",
    "post_contractor",
    "post_invites",
    "post_job",
    "post_response",
    "post_wave",
    "routes",
]


@operation(summary="Create or update a contractor by its external id", body=ContractorIn, body_limit=ADMIN_LIMIT,
           responses={201: Reply("Created.", Contractor), 200: Reply("Updated.", Contractor)})
async def post_contractor(request: Request, body: ContractorIn) -> Response:
    contractor, created = await queries.upsert_contractor(
        external_id=body.external_id, name=body.name, region=body.region, service_type=body.service_type,
        started_on=body.started_on, active=body.active, attributes=body.attributes)
    answer = Contractor(
        external_id=contractor.external_id,
        name=contractor.name,
        region=contractor.region,
        service_type=contractor.service_type,
        started_on=contractor.started_on.isoformat() if contractor.started_on else None,
        active=contractor.active,
        attributes=contractor.attributes,
    )
    return JSONResponse(answer, status_code=201 if created else 200)


@operation(summary="Register a finished job and get its customer survey link",
           description="Posting the same job again returns the same link.", body=JobIn, body_limit=ADMIN_LIMIT,
           responses={201: Reply("The new link.", Link), 200: Reply("The job was registered before: its link.", Link)},
           errors={404: "Unknown contractor."})
async def post_job(request: Request, body: JobIn) -> Response:
    job, created = await queries.register_job(external_id=body.external_id, contractor=body.contractor,
                                              completed_at=body.completed_at, customer_ref=body.customer_ref)
    answer = Link(token=job.token, survey_url=link_url("customer", job.token),
                  expires_at=job.expires_at.isoformat())
    return JSONResponse(answer, status_code=201 if created else 200)


@operation(summary="Create a pulse wave", body=WaveIn, body_limit=ADMIN_LIMIT,
           responses={201: Reply("Created.", Wave)}, errors={409: "A wave with this name exists."})
async def post_wave(request: Request, body: WaveIn) -> Response:
    wave = await queries.create_wave(name=body.name, opens_at=body.opens_at, closes_at=body.closes_at)
    answer = Wave(name=wave.name, opens_at=wave.opens_at.isoformat(), closes_at=wave.closes_at.isoformat())
    return JSONResponse(answer, status_code=201)


def _invite_rows(invites: list[queries.Invite]) -> list[Invite]:
    return [Invite(contractor=i.contractor, token=i.token, pulse_url=link_url("pulse", i.token)) for i in invites]


@operation(summary="Create pulse links for every active contractor, or for those listed",
           description="Idempotent: contractors invited already keep their link.", body=InvitesIn,
           body_required=False, body_limit=ADMIN_LIMIT,
           responses={201: Reply("The links.", list[Invite])}, errors={404: "Unknown wave or contractor."})
async def post_invites(request: Request, body: InvitesIn) -> Response:
    invites = await queries.create_invites(wave=request.path_params["name"], contractors=body.contractors)
    return JSONResponse(_invite_rows(invites), status_code=201)


@operation(summary="List the pulse links of a wave (JSON, or CSV with Accept: text/csv)",
           responses={200: Reply("The links.", list[Invite], others={"text/csv": {"type": "string"}})},
           errors={404: "Unknown wave."})
async def get_invites(request: Request) -> Response:
    invites = await queries.list_invites(wave=request.path_params["name"])
    if "text/csv" not in request.headers.get("accept", ""):
        return JSONResponse(_invite_rows(invites))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["contractor", "name", "token", "pulse_url"])
    for i in invites:
        writer.writerow([neutralise(i.contractor), neutralise(i.name), i.token, link_url("pulse", i.token)])
    name = request.path_params["name"]
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="invites-{safe}.csv"'},
    )


@operation(summary="The survey definitions in force, with every question id, type and range",
           responses={200: Reply("The surveys.", Surveys)})
async def get_surveys(request: Request) -> Response:
    return JSONResponse(
        {"surveys": [queries.survey_in_force(kind).as_dict() for kind in ("customer", "pulse")]}
    )


@operation(summary="Answer a survey link (customer or pulse) from an app",
           description="No API key: the link token is the key. Retrying with the same submission_id returns the "
                       "original 201 body.",
           public=True, body=Submission, body_limit=SUBMISSION_LIMIT,
           responses={201: Reply("Stored (or a retry of a stored submission).", Received),
                      422: Reply("Invalid answers: a message per question id.", AnswerErrors)},
           errors={403: "The pulse wave of this link is not open yet.", 404: "Unknown link.",
                   409: "The link has been answered already.", 410: "The link has expired or its wave is closed.",
                   429: "Too many unknown links from this address; retry after Retry-After seconds."})
async def post_response(request: Request, body: Submission) -> Response:
    outcome = await receive_answers(
        token=request.path_params["token"],
        raw=body.answers,
        submission_id=body.submission_id,
        lang=body.lang or request.query_params.get("lang"),
        accept_language=request.headers.get("accept-language"),
        source="api",
    )
    if outcome.status == 201 and outcome.stored is not None:
        return JSONResponse(outcome.stored.as_dict(), status_code=201)
    if outcome.status == 422:
        return JSONResponse(AnswerErrors(errors=dict(outcome.errors or {})), status_code=422)
    error = ApiError(outcome.message)
    error.status = outcome.status
    raise error


routes: list[BaseRoute] = [
    route("/contractors", post_contractor, methods=["POST"]),
    route("/jobs", post_job, methods=["POST"]),
    route("/waves", post_wave, methods=["POST"]),
    route("/waves/{name}/invites", by_method(get=get_invites, post=post_invites), methods=["GET", "POST"]),
    route("/surveys", get_surveys, methods=["GET"]),
    route("/responses/{token}", post_response, methods=["POST"]),
]
