-- AgentDesk offers, ad hoc discounts and billing item records: the rules the database owns.
-- Re-runnable: applied by `agentdesk db upgrade` whenever this text or the schema head changes.
--
-- Python (agentdesk.services.offers/approvals/accounting) computes eligibility and money; this script
-- decides what may change and who may change it:
--   * offers: terms frozen when made, acceptance stamped here (who, when), refused once the offer lapsed,
--     and nothing about an accepted offer can change afterwards (the acceptance evidence);
--   * ad hoc discounts: the per-customer cap of a definition re-checked at approval under a customer lock
--     (trigger b_cap), and the person who made the offer may not approve the discount it produced;
--   * the billing items of a discount change only while it is being decided;
--   * billing item records are written only by accounting, only for approved discounts and their items;
--   * a discount definition that has been used is never edited (a new version replaces it).
-- SQLSTATEs: AD001 permission, AD002 business rule, AD003 invalid value (DETAIL = field), AD004 not found.

-- ---------------------------------------------------------------------------------------------------
-- Offers
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION guard_offer() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t record;
    open_ref text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT id, number, state, verified_at INTO t FROM ticket WHERE id = NEW.ticket_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Ticket % does not exist', NEW.ticket_id USING ERRCODE = 'AD004';
        END IF;
        IF t.verified_at IS NULL THEN
            RAISE EXCEPTION 'Ticket %: verify the caller''s identity before making an offer', t.number
                USING ERRCODE = 'AD002';
        END IF;
        IF t.state <> 'in_progress' THEN
            RAISE EXCEPTION 'Ticket % is %: offers are made while a CSR works the ticket', t.number, replace(t.state, '_', ' ')
                USING ERRCODE = 'AD002';
        END IF;
        SELECT acceptance_ref INTO open_ref FROM offer
            WHERE ticket_id = NEW.ticket_id AND state IN ('proposed', 'sent') LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'Ticket % already has an open offer (%): wait for the answer or withdraw it', t.number, open_ref
                USING ERRCODE = 'AD002';
        END IF;
        IF NEW.state <> 'proposed' THEN
            RAISE EXCEPTION 'A new offer starts as proposed' USING ERRCODE = 'AD002';
        END IF;
        IF NEW.terms IS NULL OR NEW.terms_hash IS NULL OR NEW.terms_hash !~ '^[0-9a-f]{64}$' THEN
            RAISE EXCEPTION 'An offer needs its frozen terms and their SHA-256 hash' USING ERRCODE = 'AD003', DETAIL = 'terms';
        END IF;
        IF NEW.expires_at <= now() THEN
            RAISE EXCEPTION 'An offer must expire in the future' USING ERRCODE = 'AD003', DETAIL = 'expires_at';
        END IF;
        NEW.accepted_at := NULL; NEW.accepted_channel := NULL; NEW.accepted_recorded_by := NULL;
        NEW.declined_at := NULL; NEW.decline_reason := NULL;
        RETURN NEW;
    END IF;

    -- UPDATE. An answered offer is history: nothing about it changes, least of all an acceptance.
    IF OLD.state = 'accepted' THEN
        IF to_jsonb(NEW) IS DISTINCT FROM to_jsonb(OLD) THEN
            RAISE EXCEPTION 'Offer % was accepted on %: its terms and the acceptance evidence cannot change',
                OLD.acceptance_ref, to_char(OLD.accepted_at AT TIME ZONE 'UTC', 'DD/MM/YYYY HH24:MI')
                USING ERRCODE = 'AD002';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.state IN ('declined', 'lapsed', 'withdrawn') THEN
        IF to_jsonb(NEW) IS DISTINCT FROM to_jsonb(OLD) THEN
            RAISE EXCEPTION 'Offer % is %: it cannot change any more', OLD.acceptance_ref, OLD.state
                USING ERRCODE = 'AD002';
        END IF;
        RETURN NEW;
    END IF;

    -- Open offer (proposed or sent): the terms were frozen when it was made.
    IF (NEW.ticket_id, NEW.definition_id, NEW.rank, NEW.amount, NEW.percentage, NEW.free_periods,
        NEW.billing_item_ids, NEW.terms, NEW.terms_hash, NEW.acceptance_ref, NEW.expires_at)
       IS DISTINCT FROM
       (OLD.ticket_id, OLD.definition_id, OLD.rank, OLD.amount, OLD.percentage, OLD.free_periods,
        OLD.billing_item_ids, OLD.terms, OLD.terms_hash, OLD.acceptance_ref, OLD.expires_at) THEN
        RAISE EXCEPTION 'The terms of offer % are frozen: withdraw it and make a new offer', OLD.acceptance_ref
            USING ERRCODE = 'AD002';
    END IF;

    IF NEW.state = 'accepted' THEN
        IF now() > OLD.expires_at THEN
            RAISE EXCEPTION 'Offer % lapsed on %: it can no longer be accepted', OLD.acceptance_ref,
                to_char(OLD.expires_at AT TIME ZONE 'UTC', 'DD/MM/YYYY')
                USING ERRCODE = 'AD002';
        END IF;
        IF NEW.accepted_channel IS NULL THEN
            RAISE EXCEPTION 'Say how the customer accepted (phone, email, web or reference)'
                USING ERRCODE = 'AD003', DETAIL = 'accepted_channel';
        END IF;
        NEW.accepted_at := now();
        NEW.accepted_recorded_by := session_user;
        NEW.declined_at := NULL; NEW.decline_reason := NULL;
        RETURN NEW;
    END IF;

    NEW.accepted_at := NULL; NEW.accepted_channel := NULL; NEW.accepted_recorded_by := NULL;
    IF NEW.state = 'declined' THEN
        IF coalesce(btrim(NEW.decline_reason), '') = '' THEN
            RAISE EXCEPTION 'Give the reason the customer declined' USING ERRCODE = 'AD003', DETAIL = 'decline_reason';
        END IF;
        NEW.declined_at := now();
    ELSIF NEW.state = 'lapsed' THEN
        IF now() <= OLD.expires_at THEN
            RAISE EXCEPTION 'Offer % is valid until %: it has not lapsed', OLD.acceptance_ref,
                to_char(OLD.expires_at AT TIME ZONE 'UTC', 'DD/MM/YYYY HH24:MI')
                USING ERRCODE = 'AD002';
        END IF;
        NEW.declined_at := NULL; NEW.decline_reason := NULL;
    ELSIF NEW.state = 'sent' AND OLD.state NOT IN ('proposed', 'sent') THEN
        RAISE EXCEPTION 'Offer % cannot go back to sent', OLD.acceptance_ref USING ERRCODE = 'AD002';
    ELSIF NEW.state = 'proposed' AND OLD.state <> 'proposed' THEN
        RAISE EXCEPTION 'Offer % was sent: it cannot go back to proposed', OLD.acceptance_ref USING ERRCODE = 'AD002';
    ELSE
        NEW.declined_at := NULL; NEW.decline_reason := NULL;
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS b_guard_offer ON offer;
CREATE TRIGGER b_guard_offer BEFORE INSERT OR UPDATE ON offer FOR EACH ROW EXECUTE FUNCTION guard_offer();

CREATE OR REPLACE FUNCTION forbid_offer_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'Offers are never deleted: withdraw the offer instead' USING ERRCODE = 'AD001';
END
$$;
DROP TRIGGER IF EXISTS b_no_delete ON offer;
CREATE TRIGGER b_no_delete BEFORE DELETE ON offer FOR EACH ROW EXECUTE FUNCTION forbid_offer_delete();

-- ---------------------------------------------------------------------------------------------------
-- Ad hoc discounts: the cap per customer, checked when a discount becomes Approved
-- ---------------------------------------------------------------------------------------------------
-- SECURITY DEFINER so that the customer row can be locked whatever the approver's column grants are.
CREATE OR REPLACE FUNCTION check_discount_cap() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    def record;
    used integer;
BEGIN
    IF NEW.state IS DISTINCT FROM 'approved' OR (TG_OP = 'UPDATE' AND OLD.state = 'approved') THEN
        RETURN NEW;
    END IF;
    SELECT name, max_applications, applications_window_months INTO def
        FROM discount_definition WHERE id = NEW.definition_id;
    IF NOT FOUND OR def.max_applications IS NULL THEN
        RETURN NEW;
    END IF;
    -- One approval per customer at a time: a racing approval waits here, then counts the one that won.
    -- (Each statement of a PL/pgSQL function takes a fresh snapshot, so the count below sees it.)
    PERFORM 1 FROM customer WHERE id = NEW.customer_id FOR UPDATE;
    SELECT count(*) INTO used FROM adhoc_discount d
        WHERE d.customer_id = NEW.customer_id
          AND d.definition_code = NEW.definition_code
          AND d.state = 'approved'
          AND d.id IS DISTINCT FROM NEW.id
          AND d.provided_on::date > (current_date - make_interval(months => def.applications_window_months))::date;
    IF used >= def.max_applications THEN
        RAISE EXCEPTION '% of % "%" discounts already used by this customer in the last % months: this one cannot be approved',
            used, def.max_applications, def.name, def.applications_window_months
            USING ERRCODE = 'AD002';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS b_cap ON adhoc_discount;
CREATE TRIGGER b_cap BEFORE INSERT OR UPDATE ON adhoc_discount FOR EACH ROW EXECUTE FUNCTION check_discount_cap();

-- Four eyes, part two: whoever made the offer (not only whoever recorded the acceptance) may not approve.
CREATE OR REPLACE FUNCTION check_offer_maker_approval() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.state = 'approved' AND OLD.state = 'pending_approval' AND NEW.offer_id IS NOT NULL
       AND EXISTS (SELECT 1 FROM offer o WHERE o.id = NEW.offer_id AND o.made_by = session_user) THEN
        RAISE EXCEPTION 'You made the offer behind this discount, so someone else must approve it (four-eyes rule)'
            USING ERRCODE = 'AD001';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS b_maker ON adhoc_discount;
CREATE TRIGGER b_maker BEFORE UPDATE ON adhoc_discount FOR EACH ROW EXECUTE FUNCTION check_offer_maker_approval();

-- The billing items of a discount: only items of its own subscription or job, and only while it is being
-- decided (Pending Approval, or an automatic discount in the transaction that created it).
CREATE OR REPLACE FUNCTION guard_discount_item() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    d record;
    r adhoc_discount_item%ROWTYPE := coalesce(NEW, OLD);
BEGIN
    SELECT state, subscription_id, job_id, provided_on INTO d FROM adhoc_discount WHERE id = r.discount_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Discount % does not exist', r.discount_id USING ERRCODE = 'AD004';
    END IF;
    IF NOT (d.state = 'pending_approval' OR (d.state = 'approved' AND d.provided_on = now())) THEN
        RAISE EXCEPTION 'The billing items of a % discount cannot change', replace(d.state, '_', ' ')
            USING ERRCODE = 'AD002';
    END IF;
    IF TG_OP <> 'DELETE' AND NOT EXISTS (
        SELECT 1 FROM billing_item b WHERE b.id = NEW.billing_item_id
          AND (b.subscription_id = d.subscription_id OR b.job_id = d.job_id)) THEN
        RAISE EXCEPTION 'Billing item % is not part of the discounted subscription or job', NEW.billing_item_id
            USING ERRCODE = 'AD003', DETAIL = 'billing_item_id';
    END IF;
    RETURN r;
END
$$;
DROP TRIGGER IF EXISTS a_guard ON adhoc_discount_item;
CREATE TRIGGER a_guard BEFORE INSERT OR UPDATE OR DELETE ON adhoc_discount_item
    FOR EACH ROW EXECUTE FUNCTION guard_discount_item();

-- ---------------------------------------------------------------------------------------------------
-- Billing item records: accounting's approval, one per approved discount and billing item
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION guard_billing_item_record() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    d_state text;
BEGIN
    IF NOT app_has_role('accounting') THEN
        RAISE EXCEPTION 'Only accounting can approve a discount assignment and record it on billing items'
            USING ERRCODE = 'AD001';
    END IF;
    SELECT state INTO d_state FROM adhoc_discount WHERE id = NEW.discount_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Discount % does not exist', NEW.discount_id USING ERRCODE = 'AD004';
    END IF;
    IF d_state <> 'approved' THEN
        RAISE EXCEPTION 'Only Approved discounts are recorded on billing items; discount % is %', NEW.discount_id,
            replace(d_state, '_', ' ') USING ERRCODE = 'AD002';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM adhoc_discount_item i
                   WHERE i.discount_id = NEW.discount_id AND i.billing_item_id = NEW.billing_item_id) THEN
        RAISE EXCEPTION 'Billing item % is not one the discount applies to', NEW.billing_item_id
            USING ERRCODE = 'AD003', DETAIL = 'billing_item_id';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS b_guard ON billing_item_record;
CREATE TRIGGER b_guard BEFORE INSERT ON billing_item_record FOR EACH ROW EXECUTE FUNCTION guard_billing_item_record();

-- ---------------------------------------------------------------------------------------------------
-- Discount definitions: once used, a definition only ever gets deactivated (a new version replaces it)
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION guard_definition_in_use() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (to_jsonb(NEW) - 'active') IS DISTINCT FROM (to_jsonb(OLD) - 'active')
       AND (EXISTS (SELECT 1 FROM offer WHERE definition_id = OLD.id)
            OR EXISTS (SELECT 1 FROM adhoc_discount WHERE definition_id = OLD.id)) THEN
        RAISE EXCEPTION 'Discount definition % version % has been used: save a new version instead of changing it',
            OLD.code, OLD.version USING ERRCODE = 'AD002';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS b_frozen ON discount_definition;
CREATE TRIGGER b_frozen BEFORE UPDATE ON discount_definition FOR EACH ROW EXECUTE FUNCTION guard_definition_in_use();
