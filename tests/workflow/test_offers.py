"""Offers on a real database: eligibility by the domain engine, frozen terms with their hash, acceptance
references, the outbox row written with the offer, acceptance stamped and frozen by the database, lapsing,
declining to the next best offer, and letting the customer go."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import text

from agentdesk.domain.errors import (
    ConflictError,
    NotFound,
    PermissionDenied,
    RuleViolation,
    ValidationError,
)
from agentdesk.domain.periods import add_months
from agentdesk.services import offers, outbox
from agentdesk.services.eligibility import eligibility_for_ticket

from .offer_helpers import (
    backdate_offer,
    definition_id,
    event_kinds,
    renewed_rules,  # noqa: F401  (autouse: December renews the year's rules)
    scalar,
    subscription_ticket,
    ticket_state,
    ticket_version,
    year_end,
)

D = Decimal


def test_make_offer_freezes_terms_hash_reference_and_queues_the_email(installer, connect_as, test_users):
    csr = connect_as("csr")
    service, ticket = subscription_ticket(installer, csr)

    offer = offers.make_offer(csr, ticket.id, ticket.version, definition_id(csr, "ZX-SUB-RANGE"), amount=D("20.00"))

    assert offer.state == "proposed"
    assert offer.made_by == test_users["csr"].name
    assert len(offer.acceptance_ref) == 12 and offer.acceptance_ref.count("-") == 2
    t = offer.terms
    assert t["definition"] == {"id": offer.definition_id, "code": "ZX-SUB-RANGE", "version": 1,
                               "name": "Serious complaint credit (monthly)"}
    assert t["value"]["amount"] == "20.00" and t["value"]["text"] == "20.00 per month"
    # Main service only: the Fibre line, not the sports add-on.
    assert [i["product"] for i in t["items"]] == ["FIBRE-100"] and offer.billing_item_ids == (service.item_ids[0],)
    assert t["cost_before"] == "44.80" and t["cost_after"] == "24.80"  # 29.90 + 14.90, less 20.00
    periods = t["duration"]["periods"]
    assert periods >= 1 and t["total_saving"] == f"{D('20.00') * periods:.2f}"
    assert t["duration"]["until"] == year_end().isoformat()
    # Every amount is text; the hash is SHA-256 of the canonical JSON.
    assert offers.terms_hash(t) == offer.terms_hash and offers.verify_terms(offer)
    canonical = json.dumps(t, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "20.0," not in canonical and '"20.00"' in canonical
    # Expiry: now + company offer validity (14 days).
    assert dt.timedelta(days=13, hours=23) < offer.expires_at - offer.made_at <= dt.timedelta(days=14, minutes=1)
    # The ticket waits for the customer, and the e-mail is in the outbox in the same transaction.
    assert ticket_state(csr, ticket.id) == ("offer_pending", None)
    [message] = outbox.messages_for_ticket(csr, ticket.id)
    assert (message.kind, message.state, message.dedupe_key) == ("email", "pending", f"offer:{offer.id}:email")
    assert message.recipient == "customer@example.com"
    body = scalar(csr, "SELECT body FROM outbox_message WHERE id = :i", i=message.id)
    assert offer.acceptance_ref in body and "20.00 per month" in body
    assert event_kinds(csr, ticket.id)[-1] == "offer made"


def test_eligibility_lists_every_active_definition_with_reasons_and_costs(installer, connect_as):
    csr = connect_as("csr")
    _service, ticket = subscription_ticket(installer, csr, segment="gold", lifetime_value="1200.00",
                                           call_type="cancellation")

    found = eligibility_for_ticket(csr, ticket.id, record=True)

    active = scalar(csr, "SELECT count(*) FROM discount_definition WHERE active")
    assert len(found) == active
    assert [s.rank for s in found] == list(range(1, len(found) + 1))
    eligible = [s for s in found if s.eligible]
    assert eligible and all(not s.eligible for s in found[len(eligible):])  # eligible first
    by_code = {s.code: s for s in found}
    late = by_code["ZX-JOB-LATE-50"]
    assert not late.eligible and any("for late jobs only" in r for r in late.reasons)
    rng = by_code["ZX-SUB-RANGE"]
    assert rng.eligible and (rng.amount_min, rng.amount_max) == (D("5.00"), D("20.00"))
    assert rng.cost_percent > 0 and rng.total_cost == rng.cost_per_period * rng.periods
    assert rng.effective_date > dt.date.today() - dt.timedelta(days=1)
    assert event_kinds(csr, ticket.id)[-1] == "eligibility"


def test_offer_refusals_say_why(installer, connect_as):
    csr = connect_as("csr")
    _service, ticket = subscription_ticket(installer, csr)
    rng = definition_id(csr, "ZX-SUB-RANGE")

    with pytest.raises(ValidationError, match=r"amount must be between 5.00 and 20.00") as err:
        offers.make_offer(csr, ticket.id, ticket.version, rng, amount=D("25.00"))
    assert err.value.field == "amount"
    with pytest.raises(ValidationError, match="amount is required"):
        offers.make_offer(csr, ticket.id, ticket.version, rng)
    with pytest.raises(RuleViolation, match="cannot be offered: .*for late jobs only"):
        offers.make_offer(csr, ticket.id, ticket.version, definition_id(csr, "ZX-JOB-LATE-50"))
    with pytest.raises(ConflictError, match="reload it"):
        offers.make_offer(csr, ticket.id, ticket.version - 1, rng, amount=D("10.00"))
    with pytest.raises(NotFound):
        offers.make_offer(csr, ticket.id, ticket.version, 999999, amount=D("10.00"))
    with pytest.raises(ValidationError, match="does not apply to"):
        sports = _service.item_ids[1]
        offers.make_offer(csr, ticket.id, ticket.version, rng, amount=D("10.00"), billing_item_ids=[sports])
    # Nothing was half-written by the refusals.
    assert scalar(csr, "SELECT count(*) FROM offer WHERE ticket_id = :t", t=ticket.id) == 0
    assert ticket_state(csr, ticket.id) == ("in_progress", None)


def test_unverified_ticket_cannot_get_an_offer(installer, connect_as):
    from builders import add_subscription, make_customer, ticket_in_progress

    csr = connect_as("csr")
    service = add_subscription(installer, make_customer(installer, segment="gold"))
    ticket = ticket_in_progress(csr, service, verified=False, call_type="complaint")

    with pytest.raises(RuleViolation, match="verify the caller"):
        offers.make_offer(csr, ticket.id, ticket.version, definition_id(csr, "ZX-SUB-RANGE"), amount=D("10.00"))
    # The database says the same to a raw insert.
    with pytest.raises(RuleViolation, match="verify the caller"), csr.session() as s:
        s.execute(text(
            "INSERT INTO offer (ticket_id, definition_id, terms, terms_hash, acceptance_ref, expires_at)"
            " VALUES (:t, :d, '{}', repeat('a', 64), 'AB-CDEF-GHJK', now() + interval '1 day')"),
            {"t": ticket.id, "d": definition_id(csr, "ZX-SUB-RANGE")})


def test_email_needs_an_address_letter_needs_a_postal_one(installer, connect_as):
    csr = connect_as("csr")
    _service, ticket = subscription_ticket(installer, csr, email=None)
    with pytest.raises(ValidationError, match="no e-mail address: send the offer by letter"):
        offers.make_offer(csr, ticket.id, ticket.version, definition_id(csr, "ZX-SUB-RANGE"), amount=D("10.00"))

    offer = offers.make_offer(csr, ticket.id, ticket.version, definition_id(csr, "ZX-SUB-RANGE"),
                              amount=D("10.00"), channel="letter")
    [message] = outbox.messages_for_ticket(csr, ticket.id)
    assert (message.kind, message.dedupe_key) == ("letter", f"offer:{offer.id}:letter")
    assert "Nicosia" in message.recipient


def test_acceptance_is_stamped_by_the_database_and_evidence_is_immutable(installer, connect_as, test_users):
    csr = connect_as("csr")
    _service, ticket = subscription_ticket(installer, csr)
    offer = offers.make_offer(csr, ticket.id, ticket.version, definition_id(csr, "ZX-SUB-RANGE"), amount=D("15.00"))

    # The reference as the customer typed it: lower case, without dashes.
    accepted = offers.accept_offer(csr, offer.acceptance_ref.replace("-", "").lower(), "email")

    o = accepted.offer
    assert (o.state, o.accepted_channel, o.accepted_recorded_by) == ("accepted", "email", test_users["csr"].name)
    assert (accepted.discount.state, accepted.ticket_state) == ("pending_approval", "pending_approval")
    assert o.accepted_at is not None and o.terms_hash == offer.terms_hash
    assert [e for e in event_kinds(csr, ticket.id)][-2:] == ["offer accepted", "discount assigned"]
    # The evidence cannot change, not even by a raw UPDATE of a column the role may update.
    for sql in ("UPDATE offer SET accepted_channel = 'phone' WHERE id = :i",
                "UPDATE offer SET terms = '{\"total_saving\": \"999.00\"}' WHERE id = :i",
                "UPDATE offer SET accepted_at = now() - interval '1 day' WHERE id = :i",
                "UPDATE offer SET state = 'declined', decline_reason = 'x' WHERE id = :i"):
        with pytest.raises(RuleViolation, match="acceptance evidence cannot change"), csr.session() as s:
            s.execute(text(sql), {"i": offer.id})
    with pytest.raises(PermissionDenied), csr.session() as s:
        s.execute(text("DELETE FROM offer WHERE id = :i"), {"i": offer.id})
    with pytest.raises(RuleViolation, match="already accepted"):
        offers.accept_offer(csr, offer.id, "phone")
    assert offers.verify_terms(offers.get_offer(csr, offer.acceptance_ref))


def test_a_colleague_records_the_answer_for_an_automatic_discount(installer, connect_as, test_users):
    csr, csr2 = connect_as("csr"), connect_as("csr2")
    _service, ticket = subscription_ticket(installer, csr, call_type="cancellation")
    offer = offers.make_offer(csr, ticket.id, ticket.version, definition_id(csr, "RET-15PCT-6M"))

    accepted = offers.accept_offer(csr2, offer.acceptance_ref, "phone")

    assert accepted.offer.accepted_recorded_by == test_users["csr2"].name
    assert accepted.discount.provided_by == test_users["csr2"].name
    assert (accepted.discount.state, accepted.ticket_state) == ("approved", "in_progress")
    assert accepted.discount.periods_total == 6 and accepted.discount.percentage == D("15.00")


def test_open_offer_terms_are_frozen_too(installer, connect_as):
    csr = connect_as("csr")
    _service, ticket = subscription_ticket(installer, csr)
    offer = offers.make_offer(csr, ticket.id, ticket.version, definition_id(csr, "ZX-SUB-RANGE"), amount=D("15.00"))
    with pytest.raises(RuleViolation, match="are frozen"), csr.session() as s:
        s.execute(text("UPDATE offer SET amount = 5 WHERE id = :i"), {"i": offer.id})
    with pytest.raises(RuleViolation, match="already has an open offer"), csr.session() as s:
        # Even with the ticket moved back by hand, a second open offer is refused.
        s.execute(text("UPDATE ticket SET state = 'in_progress' WHERE id = :i"), {"i": ticket.id})
        s.execute(text(
            "INSERT INTO offer (ticket_id, definition_id, terms, terms_hash, acceptance_ref, expires_at)"
            " VALUES (:t, :d, '{}', repeat('a', 64), 'AB-CDEF-GHJK', now() + interval '1 day')"),
            {"t": ticket.id, "d": offer.definition_id})


def test_expired_offer_cannot_be_accepted_and_lapses(installer, connect_as):
    csr, manager = connect_as("csr"), connect_as("manager")
    _service, ticket = subscription_ticket(installer, csr)
    offer = offers.make_offer(csr, ticket.id, ticket.version, definition_id(csr, "ZX-SUB-RANGE"), amount=D("15.00"))
    backdate_offer(installer, offer.id, days=20)
    expired_on = offers.get_offer(csr, offer.id).expires_at

    with pytest.raises(RuleViolation, match=rf"lapsed on {expired_on:%d/%m/%Y}: it can no longer be accepted"):
        offers.accept_offer(csr, offer.acceptance_ref, "phone")
    assert scalar(csr, "SELECT count(*) FROM adhoc_discount WHERE offer_id = :o", o=offer.id) == 0

    assert offers.lapse_expired_offers(manager) == [offer.id]
    assert offers.get_offer(csr, offer.id).state == "lapsed"
    assert ticket_state(csr, ticket.id) == ("in_progress", None)
    assert event_kinds(csr, ticket.id)[-1] == "offer lapsed"
    assert offers.lapse_expired_offers(manager) == []  # nothing twice
    with pytest.raises(RuleViolation, match="is lapsed"):
        offers.accept_offer(csr, offer.acceptance_ref, "phone")


def test_offer_that_has_not_expired_cannot_be_lapsed_by_hand(installer, connect_as):
    csr = connect_as("csr")
    _service, ticket = subscription_ticket(installer, csr)
    offer = offers.make_offer(csr, ticket.id, ticket.version, definition_id(csr, "ZX-SUB-RANGE"), amount=D("15.00"))
    with pytest.raises(RuleViolation, match="has not lapsed"), csr.session() as s:
        s.execute(text("UPDATE offer SET state = 'lapsed' WHERE id = :i"), {"i": offer.id})


def test_decline_suggests_the_next_best_then_cancellation_goes_ahead(installer, connect_as):
    csr = connect_as("csr")
    service, ticket = subscription_ticket(installer, csr, call_type="cancellation", segment="gold",
                                          lifetime_value="1200.00")
    first_choice = next(s for s in eligibility_for_ticket(csr, ticket.id) if s.eligible)
    offer = offers.make_offer(csr, ticket.id, ticket.version, first_choice.definition_id,
                              amount=first_choice.amount_default)

    declined = offers.decline_offer(csr, offer.id, "Still too expensive")

    assert declined.offer.state == "declined" and declined.offer.decline_reason == "Still too expensive"
    assert declined.next_best is not None and declined.next_best.code != first_choice.code
    assert first_choice.code not in {s.code for s in declined.suggestions}
    assert ticket_state(csr, ticket.id) == ("in_progress", None)

    # The second offer is declined too; then the CSR lets the customer go.
    nxt = declined.next_best
    second = offers.make_offer(csr, ticket.id, declined.ticket_version, nxt.definition_id, amount=nxt.amount_default)
    again = offers.decline_offer(csr, second.id, "Moving to a competitor")
    assert {first_choice.code, nxt.code}.isdisjoint({s.code for s in again.suggestions})
    sales = offers.other_sales_offers(csr, ticket.id)
    assert ("drop_add_on", "TV-SPORTS", D("14.90")) in {(x.kind, x.product_code, x.saving_per_period) for x in sales}

    done = offers.proceed_with_cancellation(csr, ticket.id, ticket_version(csr, ticket.id))

    assert ticket_state(csr, ticket.id) == ("closed", "cancelled")
    # Default: the end of the current (calendar month) billing period, i.e. no service from the 1st.
    assert done.end_date == add_months(dt.date.today().replace(day=1), 1)
    state, end = installer_row(installer, service.id)
    assert (state, end) == ("cancelled", done.end_date)
    kinds = event_kinds(csr, ticket.id)
    assert kinds.count("offer declined") == 2 and kinds[-2:] == ["cancellation", "closed"]


def installer_row(installer, subscription_id):
    with installer.session() as s:
        return tuple(s.execute(text("SELECT state, end_date FROM subscription WHERE id = :i"),
                               {"i": subscription_id}).one())


def test_cancellation_on_a_requested_date(installer, connect_as):
    csr = connect_as("csr")
    service, ticket = subscription_ticket(installer, csr)
    wanted = dt.date.today() + dt.timedelta(days=45)
    done = offers.proceed_with_cancellation(csr, ticket.id, ticket.version, end_date=wanted)
    assert done.end_date == wanted == installer_row(installer, service.id)[1]
    with pytest.raises(ValidationError, match="in the past"):
        _s2, t2 = subscription_ticket(installer, csr)
        offers.proceed_with_cancellation(csr, t2.id, t2.version, end_date=dt.date.today() - dt.timedelta(days=1))


def test_other_sales_offers_are_cheaper_packages_and_add_on_drops(installer, connect_as):
    csr = connect_as("csr")
    _service, ticket = subscription_ticket(installer, csr, products=("FIBRE-500", "STATIC-IP"))
    sales = offers.other_sales_offers(csr, ticket.id)
    assert [(x.kind, x.product_code, x.new_price, x.saving_per_period) for x in sales] == [
        ("cheaper_package", "FIBRE-100", D("29.90"), D("15.00")),
        ("drop_add_on", "STATIC-IP", D("0.00"), D("5.00")),
    ]


def test_offer_list_and_lookup(installer, connect_as):
    csr = connect_as("csr")
    _service, ticket = subscription_ticket(installer, csr)
    offer = offers.make_offer(csr, ticket.id, ticket.version, definition_id(csr, "ZX-SUB-RANGE"), amount=D("7.50"))
    [listed] = offers.list_offers(csr, ticket.id)
    assert listed == offer
    assert offers.get_offer(csr, offer.acceptance_ref.lower()) == offer
    with pytest.raises(NotFound):
        offers.get_offer(csr, "ZZ-ZZZZ-ZZZZ")


def test_worker_signed_in_as_accounting_lapses_expired_offers(installer, connect_as):
    """The worker runs as an accounting user: lapsing must work for it, and only for lapsed offers."""
    csr, accounting = connect_as("csr"), connect_as("accounting")
    _service, ticket = subscription_ticket(installer, csr)
    offer = offers.make_offer(csr, ticket.id, ticket.version, definition_id(csr, "ZX-SUB-RANGE"), amount=D("12.00"))
    with pytest.raises(PermissionDenied), accounting.session() as s:
        # While the offer is open, accounting cannot hand the ticket back.
        s.execute(text("UPDATE ticket SET state = 'in_progress' WHERE id = :i"), {"i": ticket.id})
    backdate_offer(installer, offer.id, days=20)
    assert offers.lapse_expired_offers(accounting) == [offer.id]
    assert ticket_state(csr, ticket.id) == ("in_progress", None)
