"""ORM models and data access; the database is the source of truth for everything that must survive."""

from models.base import Base
from models.directory import Municipality, Organisation, OrganisationType, School
from models.event import Event, EventKind, EventLevel, EventStatus
from models.fsm import FsmRecord
from models.outbox import Outbox, OutboxStatus, Priority
from models.people import Learner, Role, User, UserRole
from models.rsvp import Rsvp, RsvpStatus

__all__ = [
    "Base",
    "Event",
    "EventKind",
    "EventLevel",
    "EventStatus",
    "FsmRecord",
    "Learner",
    "Municipality",
    "Organisation",
    "OrganisationType",
    "Outbox",
    "OutboxStatus",
    "Priority",
    "Role",
    "Rsvp",
    "RsvpStatus",
    "School",
    "User",
    "UserRole",
]
