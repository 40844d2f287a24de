"""The tables of follow-up casework as Tortoise models: cases and their notes, reminders,
alert subscriptions and alerts. Storage only; `models.entities` lists them with the
other tables (Tortoise finds them there), so import them from either module.

Relations name their targets as "rapport.Model" strings, so this module needs
models.entities only for types. As in models.entities, class docstrings become table
comments: keep apostrophes and semicolons out of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

if TYPE_CHECKING:
    from models.entities import CustomerResponse, Job, PulseInvite, User

__all__ = ["Alert", "AlertSubscription", "FollowupCase", "FollowupNote", "Reminder"]


class FollowupCase(Model):
    """What was done about one detractor answer: owner, root cause, closing outcome.

    Every detractor answer is a case; this row exists once someone acts on it.
    The case is named by its answer id (response_id) everywhere outside this table.
    """

    id = fields.IntField(primary_key=True)
    response: fields.OneToOneRelation[CustomerResponse] = fields.OneToOneField(
        "rapport.CustomerResponse", related_name="followup", on_delete=fields.CASCADE
    )
    response_id: int  # the foreign key's column, as Tortoise sets it
    assignee = fields.CharField(max_length=100, null=True)  # a dashboard user name
    root_cause = fields.CharField(max_length=16, null=True)  # models.followup.ROOT_CAUSES
    outcome: str | None = fields.TextField(null=True)  # Tortoise types a nullable TextField as str
    first_action_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True, db_index=True)
    closed_by = fields.CharField(max_length=100, null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "followup_cases"


class FollowupNote(Model):
    """A note on a follow-up case: who wrote it, when."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[FollowupCase] = fields.ForeignKeyField(
        "rapport.FollowupCase", related_name="notes", on_delete=fields.CASCADE
    )
    case_id: int  # the foreign key's column, as Tortoise sets it
    author = fields.CharField(max_length=100)
    at = fields.DatetimeField()
    text = fields.TextField()

    class Meta:
        table = "followup_notes"


class Reminder(Model):
    """A reminder handed to the brand systems for one pulse link or one customer link."""

    id = fields.IntField(primary_key=True)
    invite: fields.ForeignKeyNullableRelation[PulseInvite] = fields.ForeignKeyField(
        "rapport.PulseInvite", related_name="reminders", on_delete=fields.CASCADE, null=True
    )
    job: fields.ForeignKeyNullableRelation[Job] = fields.ForeignKeyField(
        "rapport.Job", related_name="reminders", on_delete=fields.CASCADE, null=True
    )
    invite_id: int | None  # the foreign keys' columns, as Tortoise sets them
    job_id: int | None
    sent_at = fields.DatetimeField()

    class Meta:
        table = "reminders"
        indexes = (Index(fields=("invite_id", "sent_at")), Index(fields=("job_id",)))


class AlertSubscription(Model):
    """What a dashboard user wants to be told about (models.alerts.KINDS)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "rapport.User", related_name="alert_subscriptions", on_delete=fields.CASCADE
    )
    user_id: int  # the foreign key's column, as Tortoise sets it
    kind = fields.CharField(max_length=16)
    regions: fields.JSONField[list[str]] = fields.JSONField(default=list)  # detractor: the regions watched
    group_by = fields.CharField(max_length=16, null=True)  # cei_drop: region, service_type or tenure_band
    threshold = fields.FloatField(null=True)  # cei_drop: points, response_rate: percent
    after_response_id = fields.IntField(default=0)  # detractor: answers up to this one were looked at
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "alert_subscriptions"


class Alert(Model):
    """One alert raised for one subscription, once per subject (its key)."""

    id = fields.IntField(primary_key=True)
    subscription: fields.ForeignKeyRelation[AlertSubscription] = fields.ForeignKeyField(
        "rapport.AlertSubscription", related_name="alerts", on_delete=fields.CASCADE
    )
    key = fields.CharField(max_length=200)
    # a detractor alert goes with its answer when the customer or contractor is forgotten
    response: fields.ForeignKeyNullableRelation[CustomerResponse] = fields.ForeignKeyField(
        "rapport.CustomerResponse", related_name="alerts", on_delete=fields.CASCADE, null=True
    )
    subscription_id: int  # the foreign keys' columns, as Tortoise sets them
    response_id: int | None
    at = fields.DatetimeField(db_index=True)
    message = fields.TextField()
    data: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    seen_at = fields.DatetimeField(null=True)

    class Meta:
        table = "alerts"
        unique_together = (("subscription", "key"),)
