"""All AgentDesk tables. Importing this package registers every model on `Base.metadata`."""

from __future__ import annotations

from agentdesk.db.models.base import Base
from agentdesk.db.models.billing import (
    BillingRun,
    BillingRunProblem,
    DiscountApplication,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    Payment,
)
from agentdesk.db.models.core import (
    AppUser,
    BillingItem,
    CompanySettings,
    Customer,
    Job,
    Note,
    Product,
    RoutingRule,
    Subscription,
    Unit,
    UserUnit,
)
from agentdesk.db.models.discounts import (
    AdhocDiscount,
    AdhocDiscountItem,
    BillingItemRecord,
    DiscountDefinition,
    Offer,
)
from agentdesk.db.models.ops import BackgroundJob, OutboxMessage
from agentdesk.db.models.tickets import Draft, Ticket, TicketEvent, TicketNote

__all__ = [
    "AdhocDiscount",
    "AdhocDiscountItem",
    "AppUser",
    "BackgroundJob",
    "Base",
    "BillingItem",
    "BillingItemRecord",
    "BillingRun",
    "BillingRunProblem",
    "CompanySettings",
    "Customer",
    "DiscountApplication",
    "DiscountDefinition",
    "Draft",
    "Invoice",
    "InvoiceCounter",
    "InvoiceLine",
    "Job",
    "Note",
    "OutboxMessage",
    "Offer",
    "Payment",
    "Product",
    "RoutingRule",
    "Subscription",
    "Ticket",
    "TicketEvent",
    "TicketNote",
    "Unit",
    "UserUnit",
]
