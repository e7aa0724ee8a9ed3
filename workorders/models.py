"""Every model of the `workorders` domain, imported in one place for Alembic and `create_all`."""

from workorders.base import Base
from workorders.calls import Call, CallEvent
from workorders.cases import CourtCase, Party, PartyPhone
from workorders.contacts import Contact
from workorders.notifications import Notification
from workorders.orders import NumberSequence, WorkOrder, WorkOrderEvent
from workorders.organisation import Category, Department, Handler

__all__ = [
    "Base",
    "Call",
    "CallEvent",
    "Category",
    "Contact",
    "CourtCase",
    "Department",
    "Handler",
    "Notification",
    "NumberSequence",
    "Party",
    "PartyPhone",
    "WorkOrder",
    "WorkOrderEvent",
]
