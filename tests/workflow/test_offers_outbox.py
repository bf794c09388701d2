"""The offer notification outbox on a real database: written with the offer, delivered exactly once.

A crash between writing the file and marking the row sent neither loses nor doubles the message; two
workers never send the same message; SMTP is used when the company has a server, with a Message-ID that
stays the same across retries; letters are rendered to PDF files."""

from __future__ import annotations

import email
import socketserver
import threading
from collections.abc import Iterator
from decimal import Decimal
from email import policy

import pytest

from agentdesk.domain.errors import PermissionDenied
from agentdesk.services import offers, outbox

from .offer_helpers import (
    definition_id,
    event_kinds,
    renewed_rules,  # noqa: F401  (autouse: December renews the year's rules)
    set_company,
    subscription_ticket,
)

D = Decimal


def _offer(installer, connect_as, channel="email"):
    csr = connect_as("csr")
    _service, ticket = subscription_ticket(installer, csr)
    offer = offers.make_offer(csr, ticket.id, ticket.version, definition_id(csr, "ZX-SUB-RANGE"),
                              amount=D("20.00"), channel=channel)
    [message] = outbox.messages_for_ticket(csr, ticket.id)
    return ticket, offer, message


def test_delivering_twice_writes_one_eml_and_marks_the_offer_sent(installer, connect_as, settings):
    worker = connect_as("accounting")
    ticket, offer, message = _offer(installer, connect_as)

    first = outbox.deliver_pending(worker, settings)
    second = outbox.deliver_pending(worker, settings)
    again = outbox.deliver_one(worker, settings, message.id)

    assert (first.sent, second.sent, again) == (1, 0, None)
    files = sorted(settings.outbox_dir.iterdir())
    assert [f.name for f in files] == [f"offer-{offer.id}-email.eml"]
    mail = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert mail["To"] == "customer@example.com" and offer.acceptance_ref in mail["Subject"]
    assert offer.acceptance_ref in mail.get_content() and "20.00 per month" in mail.get_content()
    assert mail["Message-ID"].startswith(f"<offer-{offer.id}-email@")
    assert offers.get_offer(worker, offer.id).state == "sent"
    [stored] = outbox.messages_for_ticket(worker, ticket.id)
    assert (stored.state, stored.attempts) == ("sent", 1) and stored.sent_at is not None
    assert event_kinds(worker, ticket.id)[-1] == "customer notified"


def test_crash_after_writing_before_marking_sent_neither_loses_nor_doubles(installer, connect_as, settings,
                                                                            monkeypatch):
    worker = connect_as("accounting")
    ticket, offer, message = _offer(installer, connect_as)

    def crash(_message: object) -> None:
        raise KeyboardInterrupt("worker killed")

    monkeypatch.setattr(outbox, "_after_send", crash)
    with pytest.raises(KeyboardInterrupt):
        outbox.deliver_one(worker, settings, message.id)
    [written] = list(settings.outbox_dir.iterdir())
    stamp = written.stat().st_mtime_ns
    [stored] = outbox.messages_for_ticket(worker, ticket.id)
    assert stored.state == "pending"  # not lost: the row was never marked sent

    monkeypatch.setattr(outbox, "_after_send", None)
    result = outbox.deliver_one(worker, settings, message.id)

    assert result is not None and result.state == "sent"
    assert list(settings.outbox_dir.iterdir()) == [written]  # not doubled
    assert written.stat().st_mtime_ns == stamp  # and the file was not rewritten
    assert outbox.deliver_pending(worker, settings).sent == 0


def test_a_message_written_but_never_sent_is_sent_later(installer, connect_as, settings):
    # The offer's transaction committed and the worker was down: the message waits, it is not lost.
    ticket, offer, message = _offer(installer, connect_as)
    assert [m.state for m in outbox.pending_messages(connect_as("accounting"))] == ["pending"]
    assert outbox.deliver_pending(connect_as("accounting"), settings).sent == 1


def test_a_refused_offer_leaves_no_message(installer, connect_as):
    csr = connect_as("csr")
    _service, ticket = subscription_ticket(installer, csr)
    with pytest.raises(Exception, match="between 5.00 and 20.00"):
        offers.make_offer(csr, ticket.id, ticket.version, definition_id(csr, "ZX-SUB-RANGE"), amount=D("21.00"))
    assert outbox.messages_for_ticket(csr, ticket.id) == []


def test_two_workers_send_each_message_once(installer, connect_as, settings):
    for _ in range(4):
        _offer(installer, connect_as)
    workers = [connect_as("accounting"), connect_as("accounting")]
    reports: list[outbox.DeliveryReport] = []
    barrier = threading.Barrier(2)

    def run(db: object) -> None:
        barrier.wait()
        reports.append(outbox.deliver_pending(db, settings))  # type: ignore[arg-type]

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert sum(r.sent for r in reports) == 4
    assert len(list(settings.outbox_dir.glob("*.eml"))) == 4


def test_a_csr_cannot_mark_messages_sent(installer, connect_as, settings):
    _ticket, _offer_, message = _offer(installer, connect_as)
    with pytest.raises(PermissionDenied):
        outbox.deliver_one(connect_as("csr"), settings, message.id)
    # Refused before anything was written: locking the row already needs the worker's grant.
    assert not settings.outbox_dir.exists()


def test_letter_is_rendered_to_a_pdf(installer, connect_as, settings):
    _ticket, offer, message = _offer(installer, connect_as, channel="letter")
    result = outbox.deliver_one(connect_as("accounting"), settings, message.id)
    assert result is not None and result.state == "sent" and result.path is not None
    assert result.path.name == f"offer-{offer.id}-letter.pdf"
    assert result.path.read_bytes().startswith(b"%PDF")


# -- SMTP --------------------------------------------------------------------------------------------------


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: greet, accept one envelope at a time, keep the DATA."""

    def handle(self) -> None:
        self.wfile.write(b"220 test ESMTP\r\n")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb == b"DATA":
                self.wfile.write(b"354 go ahead\r\n")
                body = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(chunk)
                self.server.received.append(b"".join(body))  # type: ignore[attr-defined]
                self.wfile.write(b"250 queued\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_server() -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_smtp_is_used_when_the_company_has_a_server(installer, connect_as, settings, smtp_server):
    set_company(installer, smtp_host="127.0.0.1", smtp_port=smtp_server.server_address[1])
    _ticket, offer, message = _offer(installer, connect_as)

    result = outbox.deliver_one(connect_as("accounting"), settings, message.id)

    assert result is not None and (result.state, result.via, result.path) == ("sent", "smtp", None)
    [raw] = smtp_server.received  # type: ignore[attr-defined]
    mail = email.message_from_bytes(raw, policy=policy.default)
    assert offer.acceptance_ref in mail["Subject"] and mail["Message-ID"].startswith(f"<offer-{offer.id}-email@")
    assert not settings.outbox_dir.exists() or not any(settings.outbox_dir.glob("*.eml"))


def test_unreachable_smtp_is_retried_then_given_up(installer, connect_as, settings):
    set_company(installer, smtp_host="127.0.0.1", smtp_port=1)  # nothing listens there
    ticket, _offer_, message = _offer(installer, connect_as)
    worker = connect_as("accounting")

    first = outbox.deliver_one(worker, settings, message.id)
    assert first is not None and first.state == "pending" and "Connection" in (first.error or "")
    for _ in range(outbox.MAX_ATTEMPTS - 1):
        outbox.deliver_one(worker, settings, message.id)
    [stored] = outbox.messages_for_ticket(worker, ticket.id)
    assert (stored.state, stored.attempts) == ("failed", outbox.MAX_ATTEMPTS) and stored.last_error
    assert outbox.deliver_one(worker, settings, message.id) is None
