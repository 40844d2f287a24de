"""Follow-up cases and reminder lists over the API, behind the API key like the rest of /api/v1.

- ``GET /api/v1/followups``: the detractor cases with filters, sort, pages and
  the total (JSON), or every matching case as CSV (``Accept: text/csv`` or
  ``format=csv``);
- ``PATCH /api/v1/followups/{id}``: assign, add a note, set the root cause,
  close with an outcome (emits ``followup.closed``) or reopen;
- ``GET /api/v1/waves/{name}/reminders``: the pulse links of an open wave not
  yet answered nor reminded within RAPPORT_REMINDER_GAP_DAYS, with the invites'
  columns; ``GET /api/v1/reminders/customers``: customer links open, unanswered
  and never reminded. ``?mark=sent`` records the list as sent in the same call.

Handlers stay thin: each route declares its contract (collector.contract), calls
models.followup / models.reminders and answers; the models' refusals
(`CaseError`, `CaseNotFound`, `queries.NotFound`) become ApiErrors in collector.errors.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from typing_extensions import TypedDict

from collector.contract import Body, Day, Query, Reply, Text, Whole, operation, route
from collector.errors import NotFound
from collector.guards import ADMIN_LIMIT
from collector.schemas import Invite
from collector.settings import link_url
from collector.transfer import CSV_TYPE
from models import followup, reminders
from models.followup import CaseChange
from surveys.csvsafe import neutralise

__all__ = [
    "CASE_COLUMNS",
    "CUSTOMER_COLUMNS",
    "INVITE_COLUMNS",
    "MAX_PAGE",
    "MORE_HEADER",
    "Case",
    "CaseIn",
    "CasePage",
    "CaseQuery",
    "CsvOrJson",
    "CustomerReminder",
    "Moment",
    "NoteOut",
    "ReminderQuery",
    "RootCause",
    "customer_reminders",
    "list_followups",
    "patch_followup",
    "routes",
    "wave_reminders",
]

CASE_COLUMNS = ("id", "submitted_at", "job", "customer_ref", "contractor", "contractor_name", "region",
                "service_type", "csat", "nps", "ces", "comment", "status", "assignee", "root_cause", "outcome",
                "first_action_at", "closed_at", "closed_by", "notes")
INVITE_COLUMNS = ("contractor", "name", "token", "pulse_url")
CUSTOMER_COLUMNS = ("job", "customer_ref", "token", "survey_url", "expires_at")
MORE_HEADER = "Rapport-More"  # on a reminder list: "true" when more links wait than were listed
MAX_PAGE = 1_000_000  # pages past this hold nothing a person reads; the offset stays within any integer column

RootCause = Literal[followup.ROOT_CAUSES]  # type: ignore[valid-type]  # the causes are data
Moment = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
_Show = Literal[followup.SHOW]  # type: ignore[valid-type]
_Sort = Literal[followup.SORTS]  # type: ignore[valid-type]


# --- answers ---------------------------------------------------------------------------


class NoteOut(TypedDict):
    author: str
    at: Moment
    text: str


class Case(TypedDict):
    """A follow-up case: one detractor answer (NPS 0-6 or CSAT 1-2) and what was done about it."""

    id: Annotated[int, Field(description="The customer response's id.")]
    submitted_at: Moment
    job: str
    customer_ref: str | None
    contractor: str
    contractor_name: str
    region: str
    service_type: str
    csat: int | None
    nps: int | None
    ces: int | None
    comment: str | None
    status: Literal["open", "closed"]
    assignee: str | None
    root_cause: RootCause | None
    outcome: str | None
    first_action_at: Moment | None
    closed_at: Moment | None
    closed_by: str | None
    notes: list[NoteOut]


class CasePage(TypedDict):
    total: Annotated[int, Field(description="Every case under the filters, not only this page.")]
    page: int
    page_size: int
    pages: int
    cases: list[Case]


class CustomerReminder(TypedDict):
    job: str
    customer_ref: str | None
    token: str
    survey_url: Annotated[str, Field(json_schema_extra={"format": "uri"})]
    expires_at: Moment


# --- requests --------------------------------------------------------------------------


class CsvOrJson(Query):
    """`format=csv` asks for CSV as `Accept: text/csv` does."""

    format: Annotated[Literal["csv", "json"] | None, Field(description="csv: the same as Accept: text/csv.")] = None

    def wants_csv(self, request: Request) -> bool:
        return self.format == "csv" or "text/csv" in request.headers.get("accept", "")


class CaseQuery(CsvOrJson):
    invalid: ClassVar[dict[str, str]] = {
        "show": f"show must be one of {', '.join(followup.SHOW)}",
        "sort": f"sort must be one of {', '.join(followup.SORTS)}",
        "root_cause": f"root_cause must be one of {', '.join(followup.ROOT_CAUSES)}",
        "format": "format must be csv or json",
    }

    from_: Annotated[Any, Day(nullable=True, description="Answers submitted on or after this day (UTC)."),
                     Field(alias="from")] = None
    to: Annotated[Any, Day(nullable=True, description="Answers submitted on or before this day (UTC).")] = None
    show: Annotated[_Show, Field(description="open (default), closed or all.")] = "open"
    sort: Annotated[_Sort, Field(description="oldest (default), newest, contractor or job.")] = "oldest"
    q: Annotated[str | None, Text(200, required=False, description="Part of a job's or contractor's external id, "
                                                                   "or a contractor's name.")] = None
    region: Annotated[str | None, Text(100, required=False, description="Contractors of this region.")] = None
    service_type: Annotated[str | None, Text(100, required=False,
                                             description="Contractors of this service type.")] = None
    assignee: Annotated[str | None, Text(100, required=False,
                                         description="Cases assigned to this dashboard user.")] = None
    root_cause: Annotated[RootCause | None, Field(description="Cases with this root cause.")] = None
    page: Annotated[int, Whole(1, MAX_PAGE, description="From 1.")] = 1
    page_size: Annotated[int, Whole(1, followup.MAX_PAGE_SIZE, description="Cases per page (default 25).")] = 25

    def filters(self) -> dict[str, Any]:
        """The models' filters (models.followup.find_cases)."""
        return {"start": self.from_, "end": self.to, "show": self.show, "sort": self.sort,
                "search": self.q or None, "region": self.region or None,
                "service_type": self.service_type or None, "assignee": self.assignee or None,
                "root_cause": self.root_cause}


class ReminderQuery(CsvOrJson):
    invalid: ClassVar[dict[str, str]] = {"mark": "mark must be 'sent'", "format": "format must be csv or json"}

    mark: Annotated[Literal["sent"] | None, Field(description="Record every link listed as reminded now, "
                                                              "in the same call.")] = None
    limit: Annotated[int, Whole(1, reminders.MAX_LIMIT, description=(
        f"At most this many links (default {reminders.DEFAULT_LIMIT}); the header Rapport-More: true says "
        "more wait. With mark=sent, call again until the list is empty."))] = reminders.DEFAULT_LIMIT


class CaseIn(Body):
    """What to change; fields left out are kept. The first change is the case's first action."""

    invalid: ClassVar[dict[str, str]] = {
        "assignee": "assignee must be a dashboard user's name or null",
        "root_cause": f"root_cause must be one of {', '.join(followup.ROOT_CAUSES)} or null",
        "reopen": "reopen must be true or false",
    }

    assignee: Annotated[str | None, Field(description="An active dashboard user; null unassigns.")] = None
    note: Annotated[str, Text(followup.MAX_NOTE, description="A note, signed with the API key's name.")] | None = None
    root_cause: Annotated[RootCause | None, Field(description="null clears it.")] = None
    outcome: Annotated[str, Text(followup.MAX_OUTCOME, description="Closes the case with this outcome.")] | None = None
    reopen: Annotated[bool, Field(description="Opens a closed case again.")] = False

    def change(self) -> CaseChange:
        """The change: assignee and root_cause only when sent (null clears them)."""
        given = {name: getattr(self, name) for name in ("assignee", "root_cause") if name in self.model_fields_set}
        return CaseChange(note=self.note, outcome=self.outcome, reopen=self.reopen, **given)


# --- endpoints -------------------------------------------------------------------------


_LINK_COLUMNS = frozenset({"token", "survey_url", "pulse_url"})  # ours, never formulas: a token may start with "-"


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]], filename: str) -> Response:
    """The rows as CSV; a text cell a spreadsheet would run as a formula is quoted (surveys.csvsafe)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else neutralise(v) if isinstance(v, str) and c not in _LINK_COLUMNS else v
                         for c, v in zip(header, row, strict=True)])
    return Response(out.getvalue(), media_type=CSV_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


_CSV = {"text/csv": {"type": "string"}}
_MORE = {MORE_HEADER: "true when more links wait than this answer lists (see limit), else false."}


@operation(summary="Follow-up cases: every detractor answer (NPS 0-6 or CSAT 1-2), with the total",
           description="JSON pages, or every matching case as CSV with `Accept: text/csv` (or `format=csv`); "
                       "a CSV row's notes are one cell, `author YYYY-MM-DD HH:MM: text` joined by ` | `.",
           query=CaseQuery, responses={200: Reply("A page of cases and the total.", CasePage, others=_CSV)})
async def list_followups(request: Request, query: CaseQuery) -> Response:
    if query.wants_csv(request):
        rows = []
        for case in await followup.all_cases(**query.filters()):
            data = case.as_dict()
            data["notes"] = " | ".join(f"{n.author} {n.at:%Y-%m-%d %H:%M}: {n.text}" for n in case.notes)
            rows.append([data[c] for c in CASE_COLUMNS])
        return _csv(CASE_COLUMNS, rows, "followups.csv")
    found = await followup.find_cases(**query.filters(), page=query.page, page_size=query.page_size)
    return JSONResponse(CasePage(total=found.total, page=found.page, page_size=found.page_size, pages=found.pages,
                                 cases=[c.as_dict() for c in found.cases]))  # type: ignore[misc]  # as_dict is a Case


def _case_id(request: Request) -> int:
    """The case id of the path; one that is not a whole number is no case (a 404)."""
    text = request.path_params["id"]
    if not (text.isascii() and text.isdigit() and len(text) < 10):
        raise NotFound(f"no follow-up case {text!r}")
    return int(text)


@operation(summary="Assign a case, add a note, set its root cause, close it with an outcome, or reopen it",
           description="The first change is the case's first action. Closing emits `followup.closed` through "
                       "the outbox in the same transaction. A change that cannot be made (nothing to change, "
                       "an unknown assignee, closing a closed case, reopening an open one) is a 400.",
           body=CaseIn, body_limit=ADMIN_LIMIT,
           responses={200: Reply("The case after the change.", Case)}, errors={404: "No detractor answer has this id."})
async def patch_followup(request: Request, body: CaseIn) -> Response:
    case_id = _case_id(request)
    actor = getattr(request.state, "api_key", None) or "api"
    case = await followup.change_case(case_id=case_id, change=body.change(), by=f"api:{actor}")
    return JSONResponse(case.as_dict())


@operation(summary="Pulse links of an open wave to remind: not answered, not reminded within the gap",
           description="The invites' columns (JSON, or CSV with `Accept: text/csv` or `format=csv`). Empty unless "
                       "the wave is open. A link is listed at most once per RAPPORT_REMINDER_GAP_DAYS.",
           query=ReminderQuery, responses={200: Reply("The links.", list[Invite], others=_CSV, headers=_MORE)},
           errors={404: "Unknown wave."})
async def wave_reminders(request: Request, query: ReminderQuery) -> Response:
    name = request.path_params["name"]
    listed = await reminders.pulse_reminders(wave=name, mark=query.mark == "sent", limit=query.limit)
    invites = listed.items
    if query.wants_csv(request):
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
        return _more(_csv(INVITE_COLUMNS, [(i.contractor, i.name, i.token, link_url("pulse", i.token))
                                           for i in invites], f"reminders-{safe}.csv"), listed.more)
    return _more(JSONResponse([Invite(contractor=i.contractor, token=i.token, pulse_url=link_url("pulse", i.token))
                               for i in invites]), listed.more)


def _more(response: Response, more: bool) -> Response:
    """A reminder list's answer with the header that says whether more links wait."""
    response.headers[MORE_HEADER] = "true" if more else "false"
    return response


@operation(summary="Customer links to remind: open, unanswered, never reminded",
           description="Oldest job first (JSON, or CSV with `Accept: text/csv` or `format=csv`).",
           query=ReminderQuery, responses={200: Reply("The links.", list[CustomerReminder], others=_CSV,
                                                      headers=_MORE)})
async def customer_reminders(request: Request, query: ReminderQuery) -> Response:
    listed = await reminders.customer_reminders(mark=query.mark == "sent", limit=query.limit)
    found = [CustomerReminder(job=r.job, customer_ref=r.customer_ref, token=r.token,
                              survey_url=link_url("customer", r.token), expires_at=r.expires_at.isoformat())
             for r in listed.items]
    if query.wants_csv(request):
        return _more(_csv(CUSTOMER_COLUMNS, [[r[c] for c in CUSTOMER_COLUMNS] for r in found],  # type: ignore[literal-required]  # the columns are its keys
                          "reminders-customers.csv"), listed.more)
    return _more(JSONResponse(found), listed.more)


routes: list[BaseRoute] = [
    route("/followups", list_followups, methods=["GET"]),
    route("/followups/{id}", patch_followup, methods=["PATCH"]),
    route("/waves/{name}/reminders", wave_reminders, methods=["GET"]),
    route("/reminders/customers", customer_reminders, methods=["GET"]),
]
