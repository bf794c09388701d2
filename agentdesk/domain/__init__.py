"""AgentDesk domain layer: pure Python business rules, no database, no Qt, no ReportLab.

Modules:

* ``errors``       exception hierarchy used by the whole application (user-facing one-line messages)
* ``money``        Decimal helpers and the one rounding rule (half-up to the cent, per line)
* ``periods``      calendar helpers for billing periods
* ``discounts``    enums, discount definitions and the customer/service/ticket context
* ``eligibility``  which definitions a caller may be offered, their cost and ranking
* ``billing_math`` invoice line maths, proration, payment discounts, discount durations
"""
