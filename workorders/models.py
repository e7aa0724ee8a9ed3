"""Every model of the `workorders` domain, imported in one place for Alembic and `create_all`."""

from workorders.agents import AgentProfile
from workorders.base import Base
from workorders.callbacks import Callback, CallbackAttempt
from workorders.calls import Call, CallEvent
from workorders.cases import CourtCase, Party, PartyPhone
from workorders.contacts import Contact
from workorders.notifications import Notification
from workorders.orders import NumberSequence, WorkOrder, WorkOrderEvent
from workorders.organisation import Category, Department, Handler
from workorders.queueing import QueueEntry
from workorders.surveys import SurveyAnswer

__all__ = [
    "AgentProfile",
    "Base",
    "Call",
    "CallEvent",
    "Callback",
    "CallbackAttempt",
    "Category",
    "Contact",
    "CourtCase",
    "Department",
    "Handler",
    "Notification",
    "NumberSequence",
    "Party",
    "PartyPhone",
    "QueueEntry",
    "SurveyAnswer",
    "WorkOrder",
    "WorkOrderEvent",
]
