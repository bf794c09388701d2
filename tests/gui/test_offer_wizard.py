"""The discount offer wizard on the real database: live checks, refusals, declines and Finish.

Nothing reaches the database before Finish; a refusal at Finish leaves the ticket as the completed steps
left it and says so.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from builders import add_subscription, make_customer, ticket_in_progress
from PySide6.QtWidgets import QWizard
from sqlalchemy import text

from agentdesk.gui.offer_wizard import PAGE_ANSWER, PAGE_CONFIRM, PAGE_OFFER, OfferWizard
from agentdesk.gui.ticket_editor import load_editor_data
from agentdesk.services import offers, tickets

pytestmark = pytest.mark.gui


def open_wizard(qtbot: Any, context: Any, ticket_id: int, *, answer_only: bool = False) -> OfferWizard:
    wizard = OfferWizard(context, load_editor_data(context.db, ticket_id), answer_only=answer_only)
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitUntil(lambda: wizard.suggestions is not None, timeout=10_000)
    return wizard


def next_page(qtbot: Any, wizard: OfferWizard, expected: int) -> None:
    qtbot.waitUntil(lambda: wizard.button(QWizard.WizardButton.NextButton).isEnabled(), timeout=5_000)
    wizard.next()
    assert wizard.currentId() == expected


def finish(qtbot: Any, wizard: OfferWizard) -> None:
    wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: not wizard._running, timeout=15_000)


def definition_id(installer: Any, code: str) -> int:
    with installer.session() as s:
        return int(s.execute(text("SELECT id FROM discount_definition WHERE code = :c AND active"),
                             {"c": code}).scalar_one())


def monthly_call(installer: Any, csr: Any, **customer: Any) -> Any:
    service = add_subscription(installer, make_customer(installer, **customer))
    return ticket_in_progress(csr.db, service)


def row_of(page: Any, code: str) -> int:
    return next(r for r in range(page.offers.count()) if page.offers.item(r).data(256).code == code)


def test_amount_is_checked_live_against_the_definitions_bounds(desk_context, installer, qtbot):
    csr = desk_context("csr")
    ticket = monthly_call(installer, csr)
    wizard = open_wizard(qtbot, csr, ticket.id)
    next_page(qtbot, wizard, PAGE_OFFER)
    page = wizard.offer_page
    page.offers.setCurrentRow(row_of(page, "ZX-SUB-RANGE"))
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    for typed, said in (("25", "between 5.00 and 20.00"), ("4.99", "between 5.00 and 20.00"),
                        ("abc", "is not an amount"), ("12.345", "at most 2 decimals"), ("", "required")):
        page.amount.setText(typed)
        assert not next_button.isEnabled(), typed
        assert said in page.amount_error.text(), (typed, page.amount_error.text())
        assert page.before_label.text() == "—"
    page.amount.setText("12.50")
    assert next_button.isEnabled() and page.amount_error.text() == ""
    assert wizard.choices.amount is not None and str(wizard.choices.amount) == "12.50"
    qtbot.waitUntil(lambda: page.saving_label.text().endswith("%"), timeout=10_000)  # billing priced it
    assert page.after_label.text().startswith("€") and "billing" in page.bill_note.text()
    bill = wizard.bill
    assert bill is not None and not bill.estimate
    assert bill.before - bill.after == bill.saving_per_period == wizard.choices.amount  # 12.50 off the net
    # no item chosen: refused too
    for row in range(page.items.count()):
        page.items.item(row).setCheckState(page.items.item(row).checkState().Unchecked)
    assert not next_button.isEnabled() and "billing item" in page.items_error.text()


def test_cap_reached_and_expired_definitions_are_shown_with_why_and_not_offered(desk_context, installer, qtbot):
    csr = desk_context("csr")
    customer = make_customer(installer)
    first = ticket_in_progress(csr.db, add_subscription(installer, customer))
    # The customer already had the one free month the definition allows per 12 months.
    offer = offers.make_offer(csr.db, first.id, first.version, definition_id(installer, "RET-FREE-MONTH"))
    offers.accept_offer(csr.db, offer.id, "phone")
    today = dt.date.today()
    with installer.session() as s:
        s.execute(text("UPDATE discount_definition SET effective_date = :a, expiration_date = :b"
                       " WHERE code = 'RET-15PCT-6M'"), {"a": today - dt.timedelta(days=90),
                                                         "b": today - dt.timedelta(days=1)})
    second = ticket_in_progress(csr.db, add_subscription(installer, customer))
    wizard = open_wizard(qtbot, csr, second.id)
    table = wizard.eligibility_page.table
    rows = {table.topLevelItem(i).data(0, 256).code: table.topLevelItem(i) for i in range(table.topLevelItemCount())}
    assert rows["RET-FREE-MONTH"].text(0) == "Not eligible"
    table.setCurrentItem(rows["RET-FREE-MONTH"])
    assert "1 of 1 discounts already used" in wizard.eligibility_page.reasons.text()
    assert rows["RET-15PCT-6M"].text(0) == "Not eligible"
    table.setCurrentItem(rows["RET-15PCT-6M"])
    assert "expired on" in wizard.eligibility_page.reasons.text()
    next_page(qtbot, wizard, PAGE_OFFER)
    offered = {wizard.offer_page.offers.item(r).data(256).code for r in range(wizard.offer_page.offers.count())}
    assert offered and not offered & {"RET-FREE-MONTH", "RET-15PCT-6M"}


def test_back_and_cancel_change_nothing(desk_context, installer, qtbot):
    csr = desk_context("csr")
    ticket = monthly_call(installer, csr)
    wizard = open_wizard(qtbot, csr, ticket.id)
    for expected in (PAGE_OFFER, 2, PAGE_ANSWER, PAGE_CONFIRM):
        next_page(qtbot, wizard, expected)
    wizard.back()
    wizard.back()
    wizard.reject()
    assert offers.list_offers(csr.db, ticket.id) == []
    assert tickets.get_ticket(csr.db, ticket.id).ticket.version == ticket.version


def test_a_refusal_at_finish_changes_nothing_and_says_what_happened(desk_context, installer, qtbot):
    csr = desk_context("csr")
    ticket = monthly_call(installer, csr)
    wizard = open_wizard(qtbot, csr, ticket.id)
    for expected in (PAGE_OFFER, 2, PAGE_ANSWER, PAGE_CONFIRM):
        next_page(qtbot, wizard, expected)
    chosen = wizard.choices.suggestion
    with installer.session() as s:  # meanwhile a manager withdraws the definition
        s.execute(text("UPDATE discount_definition SET active = false WHERE id = :i"), {"i": chosen.definition_id})
    finish(qtbot, wizard)
    banner = wizard.confirm_page.banner.text
    assert "Could not make the offer" in banner and "no longer offered" in banner
    assert "Nothing was changed" in banner
    assert wizard.isVisible()  # the agent decides: retry or cancel
    assert offers.list_offers(csr.db, ticket.id) == []
    assert tickets.get_ticket(csr.db, ticket.id).ticket.state == "in_progress"


def test_decline_then_the_next_best_offer_is_accepted(desk_context, installer, qtbot):
    csr = desk_context("csr")
    ticket = monthly_call(installer, csr)
    wizard = open_wizard(qtbot, csr, ticket.id)
    for expected in (PAGE_OFFER, 2, PAGE_ANSWER):
        next_page(qtbot, wizard, expected)
    first = wizard.choices.suggestion
    page = wizard.answer_page
    page.declined.setChecked(True)
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()  # a decline needs its reason
    page.reason.setText("Too little")
    assert page.next_best.isVisible() and page.next_best.isChecked()
    runner_up = wizard.next_best()
    wizard.next()  # asks again, on the same page, about the next best offer
    assert wizard.currentId() == PAGE_ANSWER and wizard.choices.suggestion is runner_up
    assert runner_up.name in page.question.text()
    page.accepted.setChecked(True)
    next_page(qtbot, wizard, PAGE_CONFIRM)
    steps = [wizard.confirm_page.steps.item(i).text() for i in range(wizard.confirm_page.steps.count())]
    assert "declined on the phone" in steps[0] and first.name in steps[0]
    assert runner_up.name in steps[1]
    finish(qtbot, wizard)
    made = offers.list_offers(csr.db, ticket.id)
    assert [(o.code, o.state) for o in made] == [(runner_up.code, "accepted")]
    detail = tickets.get_ticket(csr.db, ticket.id)
    assert any("declined: Too little" in n.body for n in detail.notes)
    assert detail.ticket.state in ("accounting", "pending_approval")


def test_decline_and_go_ahead_with_the_cancellation(desk_context, installer, qtbot):
    csr = desk_context("csr")
    ticket = monthly_call(installer, csr)
    wizard = open_wizard(qtbot, csr, ticket.id)
    for expected in (PAGE_OFFER, 2, PAGE_ANSWER):
        next_page(qtbot, wizard, expected)
    page = wizard.answer_page
    page.declined.setChecked(True)
    page.reason.setText("Leaving the country")
    page.cancel.setChecked(True)
    next_page(qtbot, wizard, PAGE_CONFIRM)
    assert "cancelled" in wizard.confirm_page.summary.text()
    finish(qtbot, wizard)
    detail = tickets.get_ticket(csr.db, ticket.id)
    assert detail.ticket.state == "closed" and detail.ticket.resolution == "cancelled"
    assert detail.service.state == "cancelled"
    assert offers.list_offers(csr.db, ticket.id) == []  # a refused proposal is a note, not an e-mail


def test_recording_the_answer_to_an_offer_sent_earlier(desk_context, installer, qtbot):
    csr = desk_context("csr")
    service = add_subscription(installer, make_customer(installer), frequency="quarterly")
    ticket = ticket_in_progress(csr.db, service)
    sent = offers.make_offer(csr.db, ticket.id, ticket.version, definition_id(installer, "EDI-TRADE-5"))
    wizard = open_wizard(qtbot, csr, ticket.id, answer_only=True)
    assert wizard.currentId() == PAGE_ANSWER
    assert sent.acceptance_ref in wizard.answer_page.question.text()
    wizard.answer_page.accept_channel.setCurrentIndex(wizard.answer_page.accept_channel.findData("reference"))
    next_page(qtbot, wizard, PAGE_CONFIRM)
    finish(qtbot, wizard)
    assert offers.get_offer(csr.db, sent.id).state == "accepted"
    assert tickets.get_ticket(csr.db, ticket.id).ticket.state == "accounting"  # automatic: confirmed at once
