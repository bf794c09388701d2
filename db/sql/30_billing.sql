-- AgentDesk billing: the job queue's wake-up call, ordered invoice issuing, payments that keep balances right.
-- Re-runnable: applied by `agentdesk db upgrade` after 10_security.sql (app_has_role, guard_invoice).
--
-- SQLSTATEs: AD001 permission, AD002 rule, AD003 invalid value (DETAIL = field), AD004 not found.

-- ---------------------------------------------------------------------------------------------------
-- Background jobs: a worker LISTENing on 'agentdesk_jobs' wakes as soon as a job is queued (it also polls,
-- so a lost notification only delays work). Payload: {"id": ..., "kind": ...}; sent at commit.
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION notify_job_queued() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'queued' AND (TG_OP = 'INSERT' OR OLD.state IS DISTINCT FROM 'queued') THEN
        PERFORM pg_notify('agentdesk_jobs', json_build_object('id', NEW.id, 'kind', NEW.kind)::text);
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS z_notify_job ON background_job;
CREATE TRIGGER z_notify_job AFTER INSERT OR UPDATE OF state ON background_job
    FOR EACH ROW EXECUTE FUNCTION notify_job_queued();

-- ---------------------------------------------------------------------------------------------------
-- Issue drafts in the order given (one round trip per billing batch). Runs with the caller's rights, so
-- guard_invoice still checks that the caller is accounting and takes each gap-free number.
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION billing_issue_invoices(p_ids bigint[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    inv_id bigint;
    issued integer := 0;
BEGIN
    FOREACH inv_id IN ARRAY coalesce(p_ids, '{}') LOOP
        UPDATE invoice SET state = 'issued' WHERE id = inv_id AND state = 'draft';
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Invoice % is not a draft any more', inv_id USING ERRCODE = 'AD002';
        END IF;
        issued := issued + 1;
    END LOOP;
    RETURN issued;
END
$$;

-- ---------------------------------------------------------------------------------------------------
-- Payments: the database keeps invoice.paid_total (payments plus term discounts taken) and refuses a
-- payment on anything but an issued invoice, in another currency, or beyond the balance. The service
-- checks the same first to give a friendlier message; this is the guarantee under concurrency.
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION apply_payment() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    inv invoice%ROWTYPE;
    settled numeric(12, 2);
BEGIN
    SELECT * INTO inv FROM invoice WHERE id = NEW.invoice_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'There is no invoice %', NEW.invoice_id USING ERRCODE = 'AD004';
    END IF;
    IF inv.kind <> 'invoice' OR inv.state <> 'issued' THEN
        RAISE EXCEPTION 'Payments can only be recorded against an issued invoice (this one is % %)',
            replace(inv.kind, '_', ' '), inv.state USING ERRCODE = 'AD002';
    END IF;
    IF NEW.currency <> inv.currency THEN
        RAISE EXCEPTION 'The invoice is in %, the payment in %', inv.currency, NEW.currency
            USING ERRCODE = 'AD003', DETAIL = 'currency';
    END IF;
    settled := inv.paid_total + NEW.amount + NEW.term_discount_taken;
    IF settled > inv.gross_total THEN
        RAISE EXCEPTION 'The payment of % is more than the balance of % %', NEW.amount,
            inv.gross_total - inv.paid_total - NEW.term_discount_taken, inv.currency
            USING ERRCODE = 'AD003', DETAIL = 'amount';
    END IF;
    UPDATE invoice SET paid_total = settled WHERE id = inv.id;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS b_apply ON payment;
CREATE TRIGGER b_apply BEFORE INSERT ON payment FOR EACH ROW EXECUTE FUNCTION apply_payment();

-- Payments are history: corrections are new rows (or a credit note), never edits.
DROP TRIGGER IF EXISTS append_only ON payment;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON payment FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- ---------------------------------------------------------------------------------------------------
-- Grants for the billing tables this script's migration added
-- ---------------------------------------------------------------------------------------------------
GRANT INSERT, UPDATE, DELETE ON billing_run_problem TO agentdesk_accounting;
REVOKE ALL ON FUNCTION billing_issue_invoices(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION billing_issue_invoices(bigint[]) TO agentdesk_accounting;
