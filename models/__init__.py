"""ORM models and data access; the database is the source of truth for everything that must survive."""

from models.base import Base
from models.broadcast import Broadcast, BroadcastStatus
from models.directory import Municipality, Organisation, OrganisationType, PupilCount, School
from models.event import Event, EventKind, EventLevel, EventStatus
from models.feedback import Feedback
from models.fsm import FsmRecord
from models.outbox import Outbox, OutboxStatus, Priority
from models.people import Invitation, Learner, Role, RoleChange, TeacherClass, User, UserRole
from models.report import (
    ReportEventTally,
    ReportPupilAtom,
    ReportPupilCount,
    ReportStaleEvent,
    ReportStalePupil,
)
from models.rsvp import Rsvp, RsvpStatus

__all__ = [
    "Base",
    "Broadcast",
    "BroadcastStatus",
    "Event",
    "EventKind",
    "EventLevel",
    "EventStatus",
    "Feedback",
    "FsmRecord",
    "Invitation",
    "Learner",
    "Municipality",
    "Organisation",
    "OrganisationType",
    "Outbox",
    "OutboxStatus",
    "Priority",
    "PupilCount",
    "ReportEventTally",
    "ReportPupilAtom",
    "ReportPupilCount",
    "ReportStaleEvent",
    "ReportStalePupil",
    "Role",
    "RoleChange",
    "Rsvp",
    "RsvpStatus",
    "School",
    "TeacherClass",
    "User",
    "UserRole",
]
