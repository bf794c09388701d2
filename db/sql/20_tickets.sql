-- AgentDesk tickets: numbers, the ticket state machine and who may make each move.
-- Re-runnable: applied by `agentdesk db upgrade` after 10_security.sql (which defines app_has_role,
-- app_in_unit, the stamping and version triggers and the change notifications).
--
-- Triggers on ticket run in name order: a_number, a_stamp_who, b_touch, c_transition, z_notify.
--
-- The state machine (TICKET_STATES in agentdesk/db/models/base.py):
--   queued -> in_progress                     claim (yourself, from your unit's queue) or assign (manager)
--   in_progress -> queued                     release (the assignee or a manager); unassigns
--   in_progress -> offer_pending              an offer was sent; only once the caller is verified
--   offer_pending -> in_progress              the customer answered (assignee, a colleague of the unit, manager)
--   in_progress -> pending_approval           an ad hoc discount waits for a manager (assignee, the team, manager)
--   pending_approval -> accounting            a manager approved it
--   pending_approval -> in_progress           a manager sent it back, or the assignee withdrew the request
--   in_progress -> accounting                 the CSR confirmed the discount (assignee or manager only)
--   accounting -> in_progress | closed        accounting only (sent back, or approved and closed)
--   any open state -> closed                  resolution cancelled / withdrawn / merged, by the assignee or a
--                                             manager (from 'accounting': accounting only, any resolution)
-- Assigning a ticket to someone other than yourself, or taking over a colleague's ticket, is for managers
-- and administrators only. Closed tickets never change.
--
-- SQLSTATEs: AD001 permission, AD002 rule, AD003 invalid value (DETAIL = field).

-- ---------------------------------------------------------------------------------------------------
-- Ticket numbers: "T-000123" from the id (ids come from a sequence, so numbers may have gaps)
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION ticket_number(p_id bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'T-' || CASE WHEN p_id < 1000000 THEN lpad(p_id::text, 6, '0') ELSE p_id::text END
$$;

CREATE OR REPLACE FUNCTION number_ticket() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- The server numbers tickets; whatever the client sent is ignored.
    NEW.number := ticket_number(NEW.id);
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS a_number ON ticket;
CREATE TRIGGER a_number BEFORE INSERT ON ticket FOR EACH ROW EXECUTE FUNCTION number_ticket();

-- ---------------------------------------------------------------------------------------------------
-- The state machine and its authority
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION ticket_state_label(p_state text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_state
        WHEN 'queued' THEN 'Queued'
        WHEN 'in_progress' THEN 'In progress'
        WHEN 'offer_pending' THEN 'Offer pending'
        WHEN 'pending_approval' THEN 'Pending approval'
        WHEN 'accounting' THEN 'Accounting'
        WHEN 'closed' THEN 'Closed'
        ELSE p_state END
$$;

CREATE OR REPLACE FUNCTION ticket_assignable(p_user text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM app_user WHERE role_name = p_user AND active)
$$;

CREATE OR REPLACE FUNCTION guard_ticket_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    me text := session_user;
    is_manager boolean;
    is_accounting boolean;
    is_owner boolean;
    move text;
BEGIN
    is_manager := app_has_role('manager') OR app_has_role('admin');
    is_accounting := app_has_role('accounting');

    IF TG_OP = 'INSERT' THEN
        IF NEW.state <> 'queued' OR NEW.assigned_to IS NOT NULL THEN
            RAISE EXCEPTION 'A new ticket starts unassigned in a service queue' USING ERRCODE = 'AD002';
        END IF;
        RETURN NEW;
    END IF;

    IF OLD.state = 'closed' THEN
        RAISE EXCEPTION 'Ticket % is closed and cannot change', OLD.number USING ERRCODE = 'AD002';
    END IF;

    -- Identity of the ticket is history: what it is about never changes after intake.
    NEW.id := OLD.id;
    NEW.number := OLD.number;
    NEW.customer_id := OLD.customer_id;
    NEW.subscription_id := OLD.subscription_id;
    NEW.job_id := OLD.job_id;
    NEW.customer_value := OLD.customer_value;

    is_owner := OLD.assigned_to IS NOT DISTINCT FROM me;

    -- While accounting has the ticket, it is theirs to move.
    IF OLD.state = 'accounting' AND NEW.state <> 'accounting' AND NOT is_accounting THEN
        RAISE EXCEPTION 'Only accounting can move ticket % out of the accounting queue', OLD.number
            USING ERRCODE = 'AD001';
    END IF;

    IF NEW.state <> OLD.state THEN
        move := OLD.state || '>' || NEW.state;
        IF NEW.state = 'closed' THEN
            IF NEW.resolution IS NULL THEN
                RAISE EXCEPTION 'Say how ticket % ends: cancelled, withdrawn, merged or retained', OLD.number
                    USING ERRCODE = 'AD003', DETAIL = 'resolution';
            END IF;
            IF OLD.state <> 'accounting' THEN
                IF NEW.resolution NOT IN ('cancelled', 'withdrawn', 'merged') THEN
                    RAISE EXCEPTION 'A ticket is closed as retained only by accounting, after approving the discount'
                        USING ERRCODE = 'AD002';
                END IF;
                IF NOT (is_owner OR is_manager) THEN
                    RAISE EXCEPTION 'Only the agent working ticket % or a manager can close it', OLD.number
                        USING ERRCODE = 'AD001';
                END IF;
            END IF;
            NEW.closed_at := now();
        ELSIF move = 'queued>in_progress' THEN
            IF NEW.assigned_to IS NULL THEN
                NEW.assigned_to := me;
            END IF;
            IF NEW.assigned_to = me THEN
                IF NOT (is_manager OR app_in_unit(NEW.queue_unit_id)) THEN
                    RAISE EXCEPTION 'Ticket % is in another team''s queue: ask a manager to assign it to you', OLD.number
                        USING ERRCODE = 'AD001';
                END IF;
            ELSIF NOT is_manager THEN
                RAISE EXCEPTION 'Only a manager can assign a ticket to someone else' USING ERRCODE = 'AD001';
            END IF;
        ELSIF move = 'in_progress>queued' THEN
            IF NOT (is_owner OR is_manager) THEN
                RAISE EXCEPTION 'Only the agent working ticket % or a manager can put it back in the queue', OLD.number
                    USING ERRCODE = 'AD001';
            END IF;
            NEW.assigned_to := NULL;
        ELSIF move = 'in_progress>offer_pending' THEN
            IF NOT (is_owner OR is_manager) THEN
                RAISE EXCEPTION 'Only the agent working ticket % can make an offer on it', OLD.number
                    USING ERRCODE = 'AD001';
            END IF;
            IF NEW.verified_at IS NULL THEN
                RAISE EXCEPTION 'Verify that the caller is the account holder before making an offer'
                    USING ERRCODE = 'AD002';
            END IF;
        ELSIF move = 'offer_pending>in_progress' THEN
            -- The customer's answer may reach a colleague of the same team.
            -- The worker (an accounting login) hands a ticket back once its offer has lapsed unanswered.
            IF NOT (is_owner OR is_manager OR app_in_unit(OLD.queue_unit_id)
                    OR (is_accounting
                        AND EXISTS (SELECT 1 FROM offer o WHERE o.ticket_id = OLD.id AND o.state = 'lapsed')
                        AND NOT EXISTS (SELECT 1 FROM offer o WHERE o.ticket_id = OLD.id AND o.state IN ('proposed', 'sent')))) THEN
                RAISE EXCEPTION 'Only the agent working ticket %, the team or a manager can record the customer''s answer',
                    OLD.number USING ERRCODE = 'AD001';
            END IF;
        ELSIF move = 'in_progress>pending_approval' THEN
            -- An accepted discount that needs a manager: a colleague who took the customer's answer
            -- may send it on too (a manager still has to approve it).
            IF NOT (is_owner OR is_manager OR app_in_unit(OLD.queue_unit_id)) THEN
                RAISE EXCEPTION 'Only the agent working ticket % or the team can send it for approval', OLD.number
                    USING ERRCODE = 'AD001';
            END IF;
        ELSIF move = 'in_progress>accounting' THEN
            IF NOT (is_owner OR is_manager) THEN
                RAISE EXCEPTION 'Only the agent working ticket % can confirm it to accounting', OLD.number
                    USING ERRCODE = 'AD001';
            END IF;
        ELSIF move = 'pending_approval>accounting' THEN
            IF NOT is_manager THEN
                RAISE EXCEPTION 'Only a manager can approve ticket % for accounting', OLD.number USING ERRCODE = 'AD001';
            END IF;
        ELSIF move = 'pending_approval>in_progress' THEN
            IF NOT (is_owner OR is_manager) THEN
                RAISE EXCEPTION 'Only a manager or the agent working ticket % can take it back', OLD.number
                    USING ERRCODE = 'AD001';
            END IF;
        ELSIF move = 'accounting>in_progress' THEN
            NULL;  -- accounting sends it back (authority checked above)
        ELSE
            RAISE EXCEPTION 'A ticket cannot go from % to %', ticket_state_label(OLD.state), ticket_state_label(NEW.state)
                USING ERRCODE = 'AD002';
        END IF;
        IF NEW.state <> 'closed' THEN
            NEW.closed_at := NULL;
        END IF;
        IF NEW.state = 'in_progress' AND NEW.assigned_to IS NULL THEN
            RAISE EXCEPTION 'Say who works ticket %', OLD.number USING ERRCODE = 'AD003', DETAIL = 'assigned_to';
        END IF;
    ELSE
        -- Same state: an edit. The assignee and managers edit; a queued ticket also by its team;
        -- an accounting ticket by accounting.
        IF NOT (is_owner OR is_manager
                OR (OLD.state = 'queued' AND (app_in_unit(OLD.queue_unit_id) OR OLD.created_by = me))
                OR (OLD.state = 'accounting' AND is_accounting)) THEN
            RAISE EXCEPTION 'Ticket % is assigned to %: only they or a manager can change it',
                OLD.number, coalesce(OLD.assigned_to, 'nobody') USING ERRCODE = 'AD001';
        END IF;
        IF NEW.state = 'offer_pending' AND NEW.verified_at IS NULL THEN
            RAISE EXCEPTION 'Verify that the caller is the account holder before making an offer'
                USING ERRCODE = 'AD002';
        END IF;
    END IF;

    -- Assignment: yourself from your queue (above), anyone else only by a manager.
    IF NEW.assigned_to IS DISTINCT FROM OLD.assigned_to AND move IS DISTINCT FROM 'in_progress>queued' THEN
        IF NOT is_manager AND NOT (OLD.assigned_to IS NULL AND NEW.assigned_to = me) THEN
            RAISE EXCEPTION 'Only a manager can assign a ticket to someone else' USING ERRCODE = 'AD001';
        END IF;
        IF NEW.assigned_to IS NOT NULL AND NOT ticket_assignable(NEW.assigned_to) THEN
            RAISE EXCEPTION 'There is no active user "%" to assign the ticket to', NEW.assigned_to
                USING ERRCODE = 'AD003', DETAIL = 'assigned_to';
        END IF;
        IF NEW.assigned_to IS NULL AND NEW.state NOT IN ('queued', 'closed') THEN
            RAISE EXCEPTION 'Ticket % needs someone to work it while it is %', OLD.number,
                lower(ticket_state_label(NEW.state)) USING ERRCODE = 'AD003', DETAIL = 'assigned_to';
        END IF;
    END IF;

    -- Moving a ticket to another team's queue: its agent or a manager.
    IF NEW.queue_unit_id IS DISTINCT FROM OLD.queue_unit_id AND NOT (is_owner OR is_manager) THEN
        RAISE EXCEPTION 'Only the agent working ticket % or a manager can move it to another queue', OLD.number
            USING ERRCODE = 'AD001';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS c_transition ON ticket;
CREATE TRIGGER c_transition BEFORE INSERT OR UPDATE ON ticket
    FOR EACH ROW EXECUTE FUNCTION guard_ticket_transition();
