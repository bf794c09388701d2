-- AgentDesk hardening: what raw SQL with an application role's credentials must not be able to do, on top
-- of 10_security.sql, 20_tickets.sql, 25_discounts.sql and 30_billing.sql (applied after them).
-- Re-runnable. Written by the red team; each block names the attack it closes (tests/security/).
--
-- Rules of this file:
--   * it defines only its own functions (prefix y_) and triggers named y_* (they run after the other files'
--     a_/b_/c_ triggers on the same table, so the owners' messages come first);
--   * every y_ check leaves the installer alone (a superuser or a member of agentdesk_owner: it arranges
--     data, migrates and can switch triggers off anyway); application roles are never such members;
--   * functions pin search_path, so no object a client can name is ever looked up in its place.
-- SQLSTATEs: AD001 permission, AD002 rule, AD003 invalid value (DETAIL = field), AD004 not found.

-- ---------------------------------------------------------------------------------------------------
-- Temporary tables shadow the application's tables for every trigger that names a table without a schema
-- (pg_temp is searched first): a CSR could CREATE TEMP TABLE discount_definition (approval 'automatic') and
-- insert an Approved manual discount, or a temp app_user/user_unit and claim another team's tickets.
-- Nothing in AgentDesk uses temporary tables. (migrate.py grants TEMPORARY at every upgrade, before this.)
-- ---------------------------------------------------------------------------------------------------
DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC, agentdesk_csr, agentdesk_manager, '
                   'agentdesk_accounting, agentdesk_admin', current_database());
END
$$;

-- Second line of defence, for databases where TEMPORARY is granted anyway (a database cloned from a
-- template gets the default ACL; migrate.py grants it at every upgrade): every PL/pgSQL function of the
-- schema (the triggers; the SQL helpers they call inherit the setting) looks names up in public before
-- pg_temp. The other files' functions have no SET search_path of their own yet; once they do, this loop
-- finds nothing to change. A CREATE OR REPLACE of theirs drops the setting, and migrate.py then re-runs
-- this file too (every script after one that ran).
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace AND p.prokind = 'f'
          AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql')  -- SQL helpers stay inlinable
          AND p.proowner = (SELECT oid FROM pg_roles WHERE rolname = 'agentdesk_owner')
          AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) c WHERE c LIKE 'search\_path=%')
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = public, pg_temp', f);
    END LOOP;
END
$$;

-- Who is exempt from the checks below: the installer (superuser, or a member of the owner role).
CREATE OR REPLACE FUNCTION y_trusted_session() RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT pg_has_role(session_user, 'agentdesk_owner', 'member')
$$;

CREATE OR REPLACE FUNCTION y_is_manager() RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT pg_has_role(session_user, 'agentdesk_manager', 'member')
        OR pg_has_role(session_user, 'agentdesk_admin', 'member')
$$;

-- ---------------------------------------------------------------------------------------------------
-- Ad hoc discounts come from an accepted offer, in the transaction that recorded the acceptance, with the
-- offer's and the definition's values. Closes: an Approved 100 % discount of an automatic definition for
-- anyone, with no ticket and no offer; a manual one for a friend's subscription with any amount; moving a
-- pending discount to another subscription or changing its value before a manager looks at it.
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION y_guard_discount_origin() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    o offer%ROWTYPE;
    t ticket%ROWTYPE;
    def discount_definition%ROWTYPE;
BEGIN
    IF y_trusted_session() THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        -- What was agreed and where it applies are history; only the decision and billing's count move.
        NEW.customer_id := OLD.customer_id; NEW.subscription_id := OLD.subscription_id; NEW.job_id := OLD.job_id;
        NEW.ticket_id := OLD.ticket_id; NEW.offer_id := OLD.offer_id;
        NEW.value_kind := OLD.value_kind; NEW.percentage := OLD.percentage; NEW.amount := OLD.amount;
        NEW.free_periods := OLD.free_periods; NEW.edifice_type := OLD.edifice_type;
        NEW.multiplier := OLD.multiplier; NEW.step_cap := OLD.step_cap;
        NEW.effective_date := OLD.effective_date; NEW.expiration_date := OLD.expiration_date;
        NEW.periods_total := OLD.periods_total;
        NEW.provided_by := OLD.provided_by; NEW.provided_on := OLD.provided_on;
        RETURN NEW;
    END IF;

    IF NEW.offer_id IS NULL THEN
        RAISE EXCEPTION 'A discount is assigned only by accepting an offer made on a ticket'
            USING ERRCODE = 'AD001';
    END IF;
    SELECT * INTO o FROM offer WHERE id = NEW.offer_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Offer % does not exist', NEW.offer_id USING ERRCODE = 'AD004';
    END IF;
    -- The acceptance was recorded by this person in this very transaction (accept_offer does both).
    IF o.state <> 'accepted' OR o.accepted_recorded_by IS DISTINCT FROM session_user
       OR o.accepted_at IS DISTINCT FROM now() THEN
        RAISE EXCEPTION 'Offer % was not just accepted by you: a discount is assigned when its acceptance is recorded',
            o.acceptance_ref USING ERRCODE = 'AD001';
    END IF;
    SELECT * INTO t FROM ticket WHERE id = o.ticket_id;
    SELECT * INTO def FROM discount_definition WHERE id = o.definition_id;
    -- Whose discount and which definition were already used by a_guard (the approval route) and b_cap (the
    -- cap per customer): a mismatch is refused, not repaired, or those checks would have seen forged rows.
    IF (NEW.ticket_id, NEW.customer_id, NEW.subscription_id, NEW.job_id, NEW.definition_id)
       IS DISTINCT FROM (t.id, t.customer_id, t.subscription_id, t.job_id, o.definition_id) THEN
        RAISE EXCEPTION 'A discount from offer % is for ticket %''s customer and service, with the offered definition',
            o.acceptance_ref, t.number USING ERRCODE = 'AD003', DETAIL = 'offer_id';
    END IF;
    -- The approval route again, read here with a pinned search_path (a_guard reads it with the caller's).
    NEW.approval_method := def.approval; NEW.approval_unit_id := def.approval_unit_id;
    IF NEW.state = 'approved' AND def.approval <> 'automatic' THEN
        RAISE EXCEPTION 'A discount of "%" needs a manager''s approval: it starts as Pending Approval', def.name
            USING ERRCODE = 'AD001';
    END IF;
    -- The value columns are replaced by the true ones: the offer's agreed value, the definition's terms.
    NEW.value_kind := def.value_kind; NEW.percentage := o.percentage; NEW.amount := o.amount;
    NEW.free_periods := o.free_periods; NEW.edifice_type := def.edifice_type;
    NEW.multiplier := def.multiplier; NEW.step_cap := def.step_cap;
    -- The span comes from the definition (as billing_math.span_from_definition computes it).
    IF def.value_kind = 'free_period' THEN
        NEW.periods_total := def.free_periods; NEW.expiration_date := NULL;
    ELSIF def.duration_kind = 'once' THEN
        NEW.periods_total := 1; NEW.expiration_date := NULL;
    ELSIF def.duration_kind = 'periods' THEN
        NEW.periods_total := def.duration_periods; NEW.expiration_date := NULL;
    ELSE
        NEW.periods_total := NULL; NEW.expiration_date := def.duration_until;
    END IF;
    -- Never back-dated before the offer was made.
    NEW.effective_date := greatest(coalesce(NEW.effective_date, current_date), (o.made_at)::date);
    IF NEW.expiration_date IS NOT NULL AND NEW.expiration_date <= NEW.effective_date THEN
        RAISE EXCEPTION '% ends on % before it would start', def.name, NEW.expiration_date
            USING ERRCODE = 'AD002';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS y_origin ON adhoc_discount;
CREATE TRIGGER y_origin BEFORE INSERT OR UPDATE ON adhoc_discount
    FOR EACH ROW EXECUTE FUNCTION y_guard_discount_origin();

-- The billing items of a discount: the ones its offer named, changed only by whoever provided it.
CREATE OR REPLACE FUNCTION y_guard_discount_item() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    r adhoc_discount_item%ROWTYPE := coalesce(NEW, OLD);
    d record;
BEGIN
    IF y_trusted_session() THEN
        RETURN r;
    END IF;
    SELECT ad.provided_by, o.billing_item_ids INTO d
        FROM adhoc_discount ad LEFT JOIN offer o ON o.id = ad.offer_id WHERE ad.id = r.discount_id;
    IF d.provided_by IS DISTINCT FROM session_user THEN
        RAISE EXCEPTION 'Only the agent who provided discount % can change its billing items', r.discount_id
            USING ERRCODE = 'AD001';
    END IF;
    IF TG_OP <> 'DELETE' AND NOT (NEW.billing_item_id = ANY (coalesce(d.billing_item_ids, '{}'))) THEN
        RAISE EXCEPTION 'Billing item % was not part of the offer the customer accepted', NEW.billing_item_id
            USING ERRCODE = 'AD003', DETAIL = 'billing_item_id';
    END IF;
    RETURN r;
END
$$;
DROP TRIGGER IF EXISTS y_items ON adhoc_discount_item;
CREATE TRIGGER y_items BEFORE INSERT OR UPDATE OR DELETE ON adhoc_discount_item
    FOR EACH ROW EXECUTE FUNCTION y_guard_discount_item();

-- ---------------------------------------------------------------------------------------------------
-- Offers: made by the ticket's agent (or a manager) with the definition's own value, to a customer and
-- service the definition is for, answered by the agent, the team or a manager. Closes: an offer of 500 EUR
-- from a 5-20 EUR range, a 100 % offer of a 15 % definition, a platinum-only offer to a bronze friend, a late
-- installation offer on a job that was on time, items the definition does not cover, offers on a
-- colleague's ticket, offers of expired definitions, offers valid for years, and recording a customer's
-- "acceptance" from another team.
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION y_guard_offer() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    t ticket%ROWTYPE;
    def discount_definition%ROWTYPE;
    c customer%ROWTYPE;
    frequency text;
    job_dates record;
    validity integer;
BEGIN
    IF y_trusted_session() THEN
        RETURN NEW;
    END IF;
    SELECT * INTO t FROM ticket WHERE id = coalesce(NEW.ticket_id, OLD.ticket_id);
    IF TG_OP = 'UPDATE' THEN
        -- 'sent' is the outbox worker's delivery report, 'lapsed' the clock's (guard_offer checks the expiry).
        IF NEW.state IS DISTINCT FROM OLD.state AND NEW.state NOT IN ('sent', 'lapsed')
           AND NOT (t.assigned_to IS NOT DISTINCT FROM session_user OR y_is_manager() OR app_in_unit(t.queue_unit_id)) THEN
            RAISE EXCEPTION 'Only the agent working ticket %, the team or a manager can record an answer to offer %',
                t.number, OLD.acceptance_ref USING ERRCODE = 'AD001';
        END IF;
        RETURN NEW;
    END IF;

    IF NOT (t.assigned_to IS NOT DISTINCT FROM session_user OR y_is_manager()) THEN
        RAISE EXCEPTION 'Only the agent working ticket % can make an offer on it', t.number USING ERRCODE = 'AD001';
    END IF;
    SELECT * INTO def FROM discount_definition WHERE id = NEW.definition_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Unknown discount definition %', NEW.definition_id USING ERRCODE = 'AD004';
    END IF;
    IF NOT def.active OR def.effective_date > current_date
       OR (def.expiration_date IS NOT NULL AND def.expiration_date < current_date) THEN
        RAISE EXCEPTION '% (version %) is not offered today', def.name, def.version USING ERRCODE = 'AD002';
    END IF;
    -- Eligibility on the facts the database holds (domain.eligibility._judge says the same in words).
    SELECT * INTO c FROM customer WHERE id = t.customer_id;
    SELECT billing_frequency INTO frequency FROM subscription WHERE id = t.subscription_id;
    SELECT expected_completion, actual_completion INTO job_dates FROM job WHERE id = t.job_id;
    IF (cardinality(def.call_types) > 0 AND NOT t.call_type = ANY (def.call_types))
       OR (cardinality(def.customer_segments) > 0 AND NOT c.segment = ANY (def.customer_segments))
       OR (cardinality(def.card_segments) > 0 AND NOT c.card_segment = ANY (def.card_segments))
       OR (def.max_late_payments IS NOT NULL AND c.late_payments_12m > def.max_late_payments)
       OR (def.min_tenure_months IS NOT NULL
           AND c.customer_since + make_interval(months => def.min_tenure_months) > current_date)
       OR (def.billing_frequency IS NOT NULL AND frequency IS DISTINCT FROM def.billing_frequency)
       OR (def.jobs_late_only AND NOT coalesce(job_dates.actual_completion > job_dates.expected_completion, false)) THEN
        RAISE EXCEPTION '% cannot be offered on ticket %: the customer or the service is not eligible', def.name, t.number
            USING ERRCODE = 'AD002';
    END IF;
    IF NEW.percentage IS DISTINCT FROM def.percentage OR NEW.free_periods IS DISTINCT FROM def.free_periods
       OR (def.value_kind = 'amount' AND NEW.amount IS DISTINCT FROM def.amount)
       OR (def.value_kind = 'amount_range'
           AND (NEW.amount IS NULL OR NEW.amount < def.amount_min OR NEW.amount > def.amount_max))
       OR (def.value_kind IN ('percentage', 'free_period') AND NEW.amount IS NOT NULL) THEN
        RAISE EXCEPTION 'The offer''s value is not the value of % (version %)', def.name, def.version
            USING ERRCODE = 'AD003', DETAIL = 'amount';
    END IF;
    IF cardinality(NEW.billing_item_ids) = 0 OR EXISTS (
        SELECT 1 FROM unnest(NEW.billing_item_ids) AS i(id)
        WHERE NOT EXISTS (SELECT 1 FROM billing_item b JOIN product p ON p.id = b.product_id WHERE b.id = i.id
                          AND (b.subscription_id = t.subscription_id OR b.job_id = t.job_id)
                          AND (NOT def.main_service_only OR b.is_main)
                          AND (cardinality(def.product_types) = 0 OR p.type = ANY (def.product_types))
                          AND (cardinality(def.product_codes) = 0 OR p.code = ANY (def.product_codes)))) THEN
        RAISE EXCEPTION 'An offer covers billing items of ticket %''s own subscription or job that % applies to',
            t.number, def.name
            USING ERRCODE = 'AD003', DETAIL = 'billing_item_ids';
    END IF;
    SELECT offer_validity_days INTO validity FROM company_settings WHERE id = 1;
    IF NEW.expires_at > now() + make_interval(days => coalesce(validity, 14) + 1) THEN
        RAISE EXCEPTION 'An offer is valid for % days at most', coalesce(validity, 14)
            USING ERRCODE = 'AD003', DETAIL = 'expires_at';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS y_actor ON offer;
CREATE TRIGGER y_actor BEFORE INSERT OR UPDATE ON offer FOR EACH ROW EXECUTE FUNCTION y_guard_offer();

-- ---------------------------------------------------------------------------------------------------
-- The outbox sends as the company. Closes: arbitrary e-mails (spam, phishing) to any address, and
-- accounting (the worker's role) rewriting a pending message's recipient or text. A message announces an
-- offer the sender made in the same transaction, to the customer's address on record.
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION y_guard_outbox() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    o offer%ROWTYPE;
    email text;
BEGIN
    IF y_trusted_session() THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        -- Delivery moves state, attempts, the error and sent_at; what is sent, and to whom, never changes.
        NEW.kind := OLD.kind; NEW.dedupe_key := OLD.dedupe_key; NEW.ticket_id := OLD.ticket_id;
        NEW.offer_id := OLD.offer_id; NEW.recipient := OLD.recipient; NEW.subject := OLD.subject;
        NEW.body := OLD.body; NEW.payload := OLD.payload;
        NEW.created_by := OLD.created_by; NEW.created_at := OLD.created_at;
        RETURN NEW;
    END IF;
    SELECT * INTO o FROM offer WHERE id = NEW.offer_id;
    IF NOT FOUND OR o.made_by IS DISTINCT FROM session_user OR o.made_at IS DISTINCT FROM now() THEN
        RAISE EXCEPTION 'Customer messages are written only with the offer they announce'
            USING ERRCODE = 'AD001';
    END IF;
    IF NEW.ticket_id IS DISTINCT FROM o.ticket_id
       OR NEW.dedupe_key IS DISTINCT FROM format('offer:%s:%s', o.id, NEW.kind) THEN
        RAISE EXCEPTION 'This message does not belong to offer %', o.acceptance_ref
            USING ERRCODE = 'AD003', DETAIL = 'dedupe_key';
    END IF;
    IF NEW.kind = 'email' THEN
        SELECT c.email INTO email FROM ticket t JOIN customer c ON c.id = t.customer_id WHERE t.id = o.ticket_id;
        IF NEW.recipient IS DISTINCT FROM email THEN
            RAISE EXCEPTION 'An offer is e-mailed to the customer''s address on record'
                USING ERRCODE = 'AD003', DETAIL = 'recipient';
        END IF;
    END IF;
    NEW.state := 'pending'; NEW.attempts := 0; NEW.last_error := NULL; NEW.sent_at := NULL;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS y_origin ON outbox_message;
CREATE TRIGGER y_origin BEFORE INSERT OR UPDATE ON outbox_message FOR EACH ROW EXECUTE FUNCTION y_guard_outbox();

-- ---------------------------------------------------------------------------------------------------
-- Background jobs (billing runs, rendering, sending) are accounting's: the worker signs in as accounting.
-- Closes: a CSR or manager queueing billing runs for any period.
-- ---------------------------------------------------------------------------------------------------
REVOKE INSERT ON background_job FROM agentdesk_csr, agentdesk_manager, agentdesk_admin;
CREATE OR REPLACE FUNCTION y_guard_job_queue() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NOT (y_trusted_session() OR pg_has_role(session_user, 'agentdesk_accounting', 'member')) THEN
        RAISE EXCEPTION 'Only accounting queues background work' USING ERRCODE = 'AD001';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS y_accounting ON background_job;
CREATE TRIGGER y_accounting BEFORE INSERT ON background_job FOR EACH ROW EXECUTE FUNCTION y_guard_job_queue();

-- ---------------------------------------------------------------------------------------------------
-- Tickets. Closes: a made-up customer value at intake (to jump the queue), a ticket "verified" at intake or
-- at a made-up time, moving due dates, queues that are not service queues, sending a ticket to accounting
-- with no approved discount, and closing as retained without accounting's billing item records.
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION y_guard_ticket() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF y_trusted_session() THEN
        RETURN NEW;
    END IF;
    IF NEW.queue_unit_id IS DISTINCT FROM (CASE WHEN TG_OP = 'UPDATE' THEN OLD.queue_unit_id END)
       AND NOT EXISTS (SELECT 1 FROM unit WHERE id = NEW.queue_unit_id AND is_service_queue) THEN
        RAISE EXCEPTION 'Tickets wait in a service queue, not in unit %', NEW.queue_unit_id
            USING ERRCODE = 'AD003', DETAIL = 'queue_unit_id';
    END IF;
    IF TG_OP = 'INSERT' THEN
        NEW.customer_value := (SELECT lifetime_value FROM customer WHERE id = NEW.customer_id);
        NEW.verified_at := NULL; NEW.verified_by := NULL;  -- the caller is verified on the ticket, later
        RETURN NEW;
    END IF;

    IF NEW.verified_at IS DISTINCT FROM OLD.verified_at AND NEW.verified_at IS NOT NULL THEN
        NEW.verified_at := now();  -- when it really happened (who: b_touch)
    END IF;
    IF NEW.due_at IS DISTINCT FROM OLD.due_at AND NOT y_is_manager() THEN
        RAISE EXCEPTION 'Only a manager can change when ticket % is due', OLD.number USING ERRCODE = 'AD001';
    END IF;
    IF NEW.state = 'accounting' AND OLD.state <> 'accounting' THEN
        IF EXISTS (SELECT 1 FROM adhoc_discount WHERE ticket_id = OLD.id AND state = 'pending_approval') THEN
            RAISE EXCEPTION 'Ticket %: a discount still waits for a manager''s approval', OLD.number USING ERRCODE = 'AD002';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM adhoc_discount d WHERE d.ticket_id = OLD.id AND d.state = 'approved'
                       AND NOT EXISTS (SELECT 1 FROM billing_item_record r WHERE r.discount_id = d.id)) THEN
            RAISE EXCEPTION 'Ticket % has no approved discount to confirm to accounting', OLD.number USING ERRCODE = 'AD002';
        END IF;
    END IF;
    IF NEW.state = 'closed' AND OLD.state <> 'closed' AND NEW.resolution = 'retained'
       AND NOT EXISTS (SELECT 1 FROM billing_item_record WHERE ticket_id = OLD.id) THEN
        RAISE EXCEPTION 'Ticket % is closed as retained once accounting has recorded the discount on billing items',
            OLD.number USING ERRCODE = 'AD002';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS y_guard ON ticket;
CREATE TRIGGER y_guard BEFORE INSERT OR UPDATE ON ticket FOR EACH ROW EXECUTE FUNCTION y_guard_ticket();

-- ---------------------------------------------------------------------------------------------------
-- Subscriptions: the front line may only end one it is working a ticket on. Closes: cancelling a friend's
-- subscription back-dated (no more bills), re-activating a cancelled one, moving end dates at will.
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION y_guard_subscription() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF y_trusted_session() OR pg_has_role(session_user, 'agentdesk_admin', 'member') THEN
        RETURN NEW;
    END IF;
    IF OLD.state = 'cancelled' THEN
        RAISE EXCEPTION 'Subscription % is cancelled and cannot change', OLD.number USING ERRCODE = 'AD002';
    END IF;
    IF NEW.state = 'active' AND OLD.state <> 'active' THEN
        RAISE EXCEPTION 'Only an administrator can re-activate subscription %', OLD.number USING ERRCODE = 'AD001';
    END IF;
    IF NEW.end_date IS DISTINCT FROM OLD.end_date AND (NEW.end_date IS NULL OR NEW.end_date < current_date) THEN
        RAISE EXCEPTION 'The end date of subscription % cannot be in the past', OLD.number
            USING ERRCODE = 'AD003', DETAIL = 'end_date';
    END IF;
    IF NOT (y_is_manager() OR EXISTS (SELECT 1 FROM ticket WHERE subscription_id = OLD.id AND state <> 'closed'
                                                        AND assigned_to = session_user)) THEN
        RAISE EXCEPTION 'Only the agent working a ticket on subscription % (or a manager) can end it', OLD.number
            USING ERRCODE = 'AD001';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS y_guard ON subscription;
CREATE TRIGGER y_guard BEFORE UPDATE ON subscription FOR EACH ROW EXECUTE FUNCTION y_guard_subscription();

-- Jobs: accounting marks a completed job billed once its items are on an invoice, nothing else.
CREATE OR REPLACE FUNCTION y_guard_job() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF y_trusted_session() OR pg_has_role(session_user, 'agentdesk_admin', 'member') OR NEW.state = OLD.state THEN
        RETURN NEW;
    END IF;
    IF NOT (OLD.state = 'completed' AND NEW.state = 'billed' AND EXISTS (
            SELECT 1 FROM invoice_line l JOIN billing_item b ON b.id = l.billing_item_id WHERE b.job_id = OLD.id)) THEN
        RAISE EXCEPTION 'Job % is marked billed by the billing run, once it is invoiced', OLD.number
            USING ERRCODE = 'AD001';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS y_guard ON job;
CREATE TRIGGER y_guard BEFORE UPDATE ON job FOR EACH ROW EXECUTE FUNCTION y_guard_job();

-- ---------------------------------------------------------------------------------------------------
-- Invoices. Closes: marking an invoice paid without a payment (UPDATE paid_total), marking it credited
-- without a credit note, a credit note for more than the invoice (or for another customer), issuing with a
-- back-dated issue date or into a made-up series (renumbering), and moving the gap-free counter by hand.
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION y_guard_invoice() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    prefix text;
BEGIN
    IF y_trusted_session() THEN
        RETURN NEW;
    END IF;
    -- paid_total moves only inside the payment trigger (apply_payment), i.e. one trigger level down.
    IF NEW.paid_total IS DISTINCT FROM OLD.paid_total AND pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'What is paid on an invoice changes by recording a payment' USING ERRCODE = 'AD001';
    END IF;
    IF OLD.state = 'issued' AND NEW.state = 'credited' AND NOT EXISTS (
        SELECT 1 FROM invoice c WHERE c.credits_invoice_id = OLD.id AND c.kind = 'credit_note' AND c.state = 'issued') THEN
        RAISE EXCEPTION 'An invoice is credited by issuing a credit note for it' USING ERRCODE = 'AD002';
    END IF;
    IF OLD.state = 'draft' AND NEW.state = 'issued' THEN
        SELECT CASE WHEN OLD.kind = 'credit_note' THEN credit_note_series ELSE invoice_series END INTO prefix
            FROM company_settings WHERE id = 1;
        IF NEW.series IS DISTINCT FROM format('%s-%s', prefix, to_char(current_date, 'YYYY')) THEN
            RAISE EXCEPTION 'Invoices are issued in series %-%', prefix, to_char(current_date, 'YYYY')
                USING ERRCODE = 'AD003', DETAIL = 'series';
        END IF;
        NEW.issue_date := current_date;
        -- A credit note credits one issued invoice of the same customer in full (create_credit_note copies it).
        IF OLD.kind = 'credit_note' AND NOT EXISTS (
            SELECT 1 FROM invoice o WHERE o.id = OLD.credits_invoice_id AND o.kind = 'invoice' AND o.state = 'issued'
              AND o.customer_id = OLD.customer_id AND o.currency = NEW.currency
              AND (o.net_total, o.tax_total, o.gross_total) = (NEW.net_total, NEW.tax_total, NEW.gross_total)) THEN
            RAISE EXCEPTION 'A credit note credits an issued invoice of the same customer in full'
                USING ERRCODE = 'AD002';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS y_guard ON invoice;
CREATE TRIGGER y_guard BEFORE UPDATE ON invoice FOR EACH ROW EXECUTE FUNCTION y_guard_invoice();

CREATE OR REPLACE FUNCTION y_guard_invoice_counter() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF y_trusted_session() THEN
        RETURN coalesce(NEW, OLD);
    END IF;
    -- Only guard_invoice takes numbers, one at a time, while it issues an invoice (a trigger level down).
    IF TG_OP = 'DELETE' OR pg_trigger_depth() < 2
       OR (TG_OP = 'INSERT' AND NEW.next_number <> 1)
       OR (TG_OP = 'UPDATE' AND (NEW.next_number <> OLD.next_number + 1 OR NEW.series <> OLD.series)) THEN
        RAISE EXCEPTION 'Invoice numbers are taken only by issuing an invoice' USING ERRCODE = 'AD001';
    END IF;
    RETURN coalesce(NEW, OLD);
END
$$;
DROP TRIGGER IF EXISTS y_guard ON invoice_counter;
CREATE TRIGGER y_guard BEFORE INSERT OR UPDATE OR DELETE ON invoice_counter
    FOR EACH ROW EXECUTE FUNCTION y_guard_invoice_counter();

-- Discount applications count the periods a discount was used: written with a draft's lines, never
-- rewritten afterwards. Closes: deleting an issued invoice's applications to give a discount again.
REVOKE UPDATE, DELETE ON discount_application FROM agentdesk_accounting;
CREATE OR REPLACE FUNCTION y_guard_discount_application() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    inv_state text;
BEGIN
    IF y_trusted_session() THEN
        RETURN coalesce(NEW, OLD);
    END IF;
    SELECT i.state INTO inv_state FROM invoice_line l JOIN invoice i ON i.id = l.invoice_id
        WHERE l.id = coalesce(NEW.invoice_line_id, OLD.invoice_line_id);
    -- (A draft being deleted takes its applications with it: its row is gone by then.)
    IF inv_state IS NOT NULL AND inv_state <> 'draft' OR (TG_OP = 'INSERT' AND inv_state IS NULL) THEN
        RAISE EXCEPTION 'Discount applications belong to draft invoice lines and never change afterwards'
            USING ERRCODE = 'AD002';
    END IF;
    RETURN coalesce(NEW, OLD);
END
$$;
DROP TRIGGER IF EXISTS y_guard ON discount_application;
CREATE TRIGGER y_guard BEFORE INSERT OR UPDATE OR DELETE ON discount_application
    FOR EACH ROW EXECUTE FUNCTION y_guard_discount_application();

-- Billing item records name the ticket of their discount, not another one.
CREATE OR REPLACE FUNCTION y_guard_billing_item_record() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NOT y_trusted_session() THEN
        NEW.ticket_id := (SELECT ticket_id FROM adhoc_discount WHERE id = NEW.discount_id);
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS y_guard ON billing_item_record;
CREATE TRIGGER y_guard BEFORE INSERT ON billing_item_record FOR EACH ROW EXECUTE FUNCTION y_guard_billing_item_record();

-- ---------------------------------------------------------------------------------------------------
-- Payments: the discount taken at payment is the one the invoice offers (payments.discount_due_at_payment),
-- and money is not received in the future. Closes: "paying" an invoice with 0.01 plus a made-up discount.
-- Runs after b_apply (which already added this payment to paid_total), so the balance before it is derived.
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION y_guard_payment() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    inv invoice%ROWTYPE;
    offered numeric(12, 2);
    already numeric(12, 2);
    due numeric(12, 2);
BEGIN
    IF y_trusted_session() THEN
        RETURN NEW;
    END IF;
    IF NEW.received_on > current_date THEN
        RAISE EXCEPTION 'A payment cannot be received after today' USING ERRCODE = 'AD003', DETAIL = 'received_on';
    END IF;
    SELECT * INTO inv FROM invoice WHERE id = NEW.invoice_id;
    offered := inv.cumulative_discount_amount;
    IF inv.term_discount_amount > 0 AND inv.term_discount_date IS NOT NULL AND NEW.received_on <= inv.term_discount_date THEN
        offered := offered + inv.term_discount_amount;
    END IF;
    SELECT coalesce(sum(term_discount_taken), 0) INTO already FROM payment WHERE invoice_id = NEW.invoice_id;
    due := greatest(least(offered - already,
                          inv.gross_total - (inv.paid_total - NEW.amount - NEW.term_discount_taken)), 0);
    IF NEW.term_discount_taken <> due THEN
        RAISE EXCEPTION 'The discount taken at this payment is %, not %', due, NEW.term_discount_taken
            USING ERRCODE = 'AD003', DETAIL = 'term_discount_taken';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS y_guard ON payment;
CREATE TRIGGER y_guard BEFORE INSERT ON payment FOR EACH ROW EXECUTE FUNCTION y_guard_payment();
