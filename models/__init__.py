"""SQLModel tables; importing this package registers them all on SQLModel.metadata."""

from models.consent import ConsentRecord
from models.conversation import ConversationState
from models.digests import DigestSubscription
from models.donations import CheckIn, Donation
from models.donor import Donor, DonorBase
from models.drives import Drive, DriveBase, DriveWard, Follow, Signup
from models.exports import ExportJob
from models.handled_events import HandledEvent
from models.outbox import Broadcast, OutboxMessage
from models.plans import Plan, PlanUnit
from models.roles import AuditEntry, RoleGrant, RoleWard
from models.urgent import UrgentResponse

__all__ = [
    "AuditEntry",
    "Broadcast",
    "CheckIn",
    "ConsentRecord",
    "ConversationState",
    "DigestSubscription",
    "Donor",
    "DonorBase",
    "Donation",
    "Drive",
    "DriveBase",
    "DriveWard",
    "ExportJob",
    "HandledEvent",
    "Follow",
    "OutboxMessage",
    "Plan",
    "PlanUnit",
    "RoleGrant",
    "RoleWard",
    "Signup",
    "UrgentResponse",
]
