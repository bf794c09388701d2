-- AgentDesk security: grants per group role, who/when stamps, authority over state changes, the
-- append-only event log, private drafts, user management and change notifications.
-- Re-runnable: applied by `agentdesk db upgrade` whenever this text or the schema head changes.
--
-- SQLSTATEs raised on purpose (translated in agentdesk/db/errors.py):
--   AD001 permission, AD002 business rule, AD003 invalid value (DETAIL = field), AD004 not found.

-- ---------------------------------------------------------------------------------------------------
-- Who is acting
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION app_has_role(group_name text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT pg_has_role(session_user, 'agentdesk_' || group_name, 'member')
$$;

CREATE OR REPLACE FUNCTION app_in_unit(p_unit_id integer) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM user_unit uu JOIN app_user u ON u.id = uu.user_id
        WHERE u.role_name = (session_user::text COLLATE "default") AND u.active AND uu.unit_id = p_unit_id)
$$;

-- Stamps "who" and "when" columns from the session on INSERT, and keeps them on UPDATE, whatever the
-- client sent. Arguments are column names; *_by, owner, actor, author get session_user, the rest now().
CREATE OR REPLACE FUNCTION stamp_who() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    col text;
    stamps jsonb := '{}'::jsonb;
BEGIN
    FOREACH col IN ARRAY TG_ARGV LOOP
        IF TG_OP = 'INSERT' THEN
            IF col ~ '(_by|owner|actor|author)$' THEN
                stamps := stamps || jsonb_build_object(col, session_user);
            ELSE
                stamps := stamps || jsonb_build_object(col, now());
            END IF;
        ELSE
            stamps := stamps || jsonb_build_object(col, to_jsonb(OLD) -> col);
        END IF;
    END LOOP;
    NEW := jsonb_populate_record(NEW, stamps);
    RETURN NEW;
END
$$;

DO $$
DECLARE
    spec text[];
    specs text[][] := ARRAY[
        ARRAY['ticket', 'created_by,created_at'],
        ARRAY['ticket_event', 'actor,at'],
        ARRAY['ticket_note', 'author,created_at'],
        ARRAY['customer_note', 'author,created_at'],
        ARRAY['draft', 'owner'],
        ARRAY['discount_definition', 'created_by,created_at'],
        ARRAY['offer', 'made_by,made_at'],
        ARRAY['adhoc_discount', 'provided_by,provided_on'],
        ARRAY['billing_item_record', 'approved_by,approved_at'],
        ARRAY['billing_run', 'started_by,started_at'],
        ARRAY['payment', 'recorded_by,recorded_at'],
        ARRAY['outbox_message', 'created_by,created_at'],
        ARRAY['background_job', 'created_by,created_at']
    ];
BEGIN
    FOREACH spec SLICE 1 IN ARRAY specs LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS a_stamp_who ON %I', spec[1]);
        EXECUTE format(
            'CREATE TRIGGER a_stamp_who BEFORE INSERT OR UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION stamp_who(%s)',
            spec[1], (SELECT string_agg(quote_literal(c), ',') FROM unnest(string_to_array(spec[2], ',')) c));
    END LOOP;
END
$$;

-- Tickets: every update is stamped with who and when, and bumps the optimistic-lock version, so a raw SQL
-- update cannot slip past another editor's stale check.
CREATE OR REPLACE FUNCTION touch_ticket() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_by := session_user;
    NEW.updated_at := now();
    IF TG_OP = 'UPDATE' THEN
        NEW.version := OLD.version + 1;
        IF NEW.verified_at IS DISTINCT FROM OLD.verified_at THEN
            NEW.verified_by := CASE WHEN NEW.verified_at IS NULL THEN NULL ELSE session_user END;
        ELSE
            NEW.verified_by := OLD.verified_by;
        END IF;
    ELSE
        NEW.version := 1;
        NEW.verified_by := CASE WHEN NEW.verified_at IS NULL THEN NULL ELSE session_user END;
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS b_touch ON ticket;
CREATE TRIGGER b_touch BEFORE INSERT OR UPDATE ON ticket FOR EACH ROW EXECUTE FUNCTION touch_ticket();

CREATE OR REPLACE FUNCTION touch_versioned() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        NEW.version := OLD.version + 1;
    ELSE
        NEW.version := 1;
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS b_touch ON draft;
CREATE TRIGGER b_touch BEFORE INSERT OR UPDATE ON draft FOR EACH ROW EXECUTE FUNCTION touch_versioned();
DROP TRIGGER IF EXISTS b_touch ON adhoc_discount;
CREATE TRIGGER b_touch BEFORE INSERT OR UPDATE ON adhoc_discount FOR EACH ROW EXECUTE FUNCTION touch_versioned();

-- ---------------------------------------------------------------------------------------------------
-- Append-only history: the event log and acceptance evidence
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION forbid_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: rows cannot be changed or deleted', TG_TABLE_NAME
        USING ERRCODE = 'AD001';
END
$$;
DROP TRIGGER IF EXISTS append_only ON ticket_event;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON ticket_event
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
DROP TRIGGER IF EXISTS append_only_truncate ON ticket_event;
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON ticket_event
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
DROP TRIGGER IF EXISTS append_only ON billing_item_record;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON billing_item_record
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- ---------------------------------------------------------------------------------------------------
-- Ad hoc discounts: Pending Approval -> Approved | Cancelled, and who may move them
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION guard_adhoc_discount() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    def discount_definition%ROWTYPE;
    unit_name text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT * INTO def FROM discount_definition WHERE id = NEW.definition_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Unknown discount definition %', NEW.definition_id USING ERRCODE = 'AD004';
        END IF;
        -- The approval route comes from the definition, never from the client.
        NEW.definition_code := def.code;
        NEW.approval_method := def.approval;
        NEW.approval_unit_id := def.approval_unit_id;
        NEW.approved_by := NULL; NEW.approved_on := NULL;
        NEW.cancelled_by := NULL; NEW.cancelled_on := NULL; NEW.cancel_reason := NULL;
        NEW.periods_used := 0;
        IF NEW.state = 'approved' THEN
            IF def.approval <> 'automatic' THEN
                RAISE EXCEPTION 'A discount of "%" needs a manager''s approval: it starts as Pending Approval', def.name
                    USING ERRCODE = 'AD001';
            END IF;
            NEW.approved_by := session_user;
            NEW.approved_on := now();
        ELSIF NEW.state <> 'pending_approval' THEN
            RAISE EXCEPTION 'A new discount starts as Pending Approval (or Approved when automatic)'
                USING ERRCODE = 'AD002';
        END IF;
        RETURN NEW;
    END IF;

    -- UPDATE: the route and the provider are history.
    NEW.definition_id := OLD.definition_id; NEW.definition_code := OLD.definition_code;
    NEW.approval_method := OLD.approval_method; NEW.approval_unit_id := OLD.approval_unit_id;
    NEW.customer_id := OLD.customer_id;

    IF OLD.state <> 'pending_approval' THEN
        -- Billing counts the periods an approved discount has been used; nothing else may change.
        IF OLD.state = 'approved' AND NEW.state = 'approved'
           AND (to_jsonb(NEW) - 'periods_used' - 'version') = (to_jsonb(OLD) - 'periods_used' - 'version')
           AND app_has_role('accounting') THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'Only Pending Approval discounts can change; this one is %', replace(OLD.state, '_', ' ')
            USING ERRCODE = 'AD002';
    END IF;

    IF NEW.state = 'approved' THEN
        SELECT name INTO unit_name FROM unit WHERE id = OLD.approval_unit_id;
        IF NOT app_has_role('manager') THEN
            RAISE EXCEPTION 'Only a manager can approve a discount' USING ERRCODE = 'AD001';
        END IF;
        IF OLD.approval_unit_id IS NOT NULL AND NOT app_in_unit(OLD.approval_unit_id) THEN
            RAISE EXCEPTION 'Only a manager of % can approve this discount', unit_name USING ERRCODE = 'AD001';
        END IF;
        IF OLD.provided_by = session_user THEN
            RAISE EXCEPTION 'You provided this discount, so someone else must approve it (four-eyes rule)'
                USING ERRCODE = 'AD001';
        END IF;
        NEW.approved_by := session_user; NEW.approved_on := now();
        NEW.cancelled_by := NULL; NEW.cancelled_on := NULL;
    ELSIF NEW.state = 'cancelled' THEN
        IF NOT ((app_has_role('manager') AND (OLD.approval_unit_id IS NULL OR app_in_unit(OLD.approval_unit_id)))
                OR OLD.provided_by = session_user) THEN
            RAISE EXCEPTION 'Only a manager of the approving unit, or the agent who provided it, can cancel this discount'
                USING ERRCODE = 'AD001';
        END IF;
        IF coalesce(btrim(NEW.cancel_reason), '') = '' THEN
            RAISE EXCEPTION 'Give a reason for cancelling the discount' USING ERRCODE = 'AD003', DETAIL = 'cancel_reason';
        END IF;
        NEW.cancelled_by := session_user; NEW.cancelled_on := now();
        NEW.approved_by := NULL; NEW.approved_on := NULL;
    ELSE
        NEW.approved_by := NULL; NEW.approved_on := NULL;
        NEW.cancelled_by := NULL; NEW.cancelled_on := NULL;
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS a_guard ON adhoc_discount;
CREATE TRIGGER a_guard BEFORE INSERT OR UPDATE ON adhoc_discount
    FOR EACH ROW EXECUTE FUNCTION guard_adhoc_discount();

-- Only Approved discounts are billable: nothing may record an application of any other.
CREATE OR REPLACE FUNCTION guard_discount_application() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.discount_id IS NOT NULL
       AND (SELECT state FROM adhoc_discount WHERE id = NEW.discount_id) IS DISTINCT FROM 'approved' THEN
        RAISE EXCEPTION 'Only Approved discounts can be billed' USING ERRCODE = 'AD002';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS a_guard ON discount_application;
CREATE TRIGGER a_guard BEFORE INSERT OR UPDATE ON discount_application
    FOR EACH ROW EXECUTE FUNCTION guard_discount_application();

-- ---------------------------------------------------------------------------------------------------
-- Invoices: Draft -> Issued with a gap-free number taken here; issued invoices never change
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION guard_invoice() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    next_no bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state <> 'draft' THEN
            RAISE EXCEPTION 'An invoice is created as a draft and then issued' USING ERRCODE = 'AD002';
        END IF;
        NEW.number := NULL; NEW.issue_date := NULL; NEW.issued_by := NULL; NEW.issued_at := NULL;
        NEW.paid_total := 0;
        RETURN NEW;
    END IF;

    IF OLD.state = 'draft' AND NEW.state = 'issued' THEN
        IF NOT app_has_role('accounting') THEN
            RAISE EXCEPTION 'Only accounting can issue an invoice' USING ERRCODE = 'AD001';
        END IF;
        -- The counter row is locked until this transaction ends: numbers are gap-free and in order,
        -- and a rollback gives the number back.
        INSERT INTO invoice_counter (series, next_number) VALUES (OLD.series, 1) ON CONFLICT (series) DO NOTHING;
        UPDATE invoice_counter SET next_number = next_number + 1 WHERE series = OLD.series
            RETURNING next_number - 1 INTO next_no;
        NEW.number := next_no;
        NEW.issue_date := coalesce(NEW.issue_date, current_date);
        NEW.issued_by := session_user;
        NEW.issued_at := now();
        NEW.series := OLD.series;
        RETURN NEW;
    END IF;

    IF OLD.state = 'draft' AND NEW.state = 'draft' THEN
        IF NOT app_has_role('accounting') THEN
            RAISE EXCEPTION 'Only accounting can change an invoice' USING ERRCODE = 'AD001';
        END IF;
        NEW.number := NULL; NEW.issue_date := NULL; NEW.issued_by := NULL; NEW.issued_at := NULL;
        RETURN NEW;
    END IF;

    IF OLD.state IN ('issued', 'credited') AND NEW.state IN ('issued', 'credited') THEN
        -- Payments move paid_total; a credit note marks the original as credited. Nothing else changes.
        IF (to_jsonb(NEW) - 'paid_total' - 'state') = (to_jsonb(OLD) - 'paid_total' - 'state')
           AND app_has_role('accounting') THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'Invoice %-% is issued and cannot be edited: issue a credit note instead', OLD.series, OLD.number
            USING ERRCODE = 'AD002';
    END IF;

    RAISE EXCEPTION 'An invoice cannot go from % to %', OLD.state, NEW.state USING ERRCODE = 'AD002';
END
$$;
DROP TRIGGER IF EXISTS a_guard ON invoice;
CREATE TRIGGER a_guard BEFORE INSERT OR UPDATE ON invoice FOR EACH ROW EXECUTE FUNCTION guard_invoice();

CREATE OR REPLACE FUNCTION forbid_issued_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state <> 'draft' THEN
        RAISE EXCEPTION 'Issued invoices are never deleted: issue a credit note instead' USING ERRCODE = 'AD002';
    END IF;
    RETURN OLD;
END
$$;
DROP TRIGGER IF EXISTS b_no_delete ON invoice;
CREATE TRIGGER b_no_delete BEFORE DELETE ON invoice FOR EACH ROW EXECUTE FUNCTION forbid_issued_delete();

-- Lines of an issued invoice are frozen with it.
CREATE OR REPLACE FUNCTION guard_invoice_line() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    inv_state text;
BEGIN
    SELECT state INTO inv_state FROM invoice WHERE id = coalesce(NEW.invoice_id, OLD.invoice_id);
    IF inv_state IS DISTINCT FROM 'draft' THEN
        RAISE EXCEPTION 'Lines of an issued invoice cannot change' USING ERRCODE = 'AD002';
    END IF;
    RETURN coalesce(NEW, OLD);
END
$$;
DROP TRIGGER IF EXISTS a_guard ON invoice_line;
CREATE TRIGGER a_guard BEFORE INSERT OR UPDATE OR DELETE ON invoice_line
    FOR EACH ROW EXECUTE FUNCTION guard_invoice_line();

-- ---------------------------------------------------------------------------------------------------
-- Change notifications: ids only, sent at commit; screens refresh, nothing depends on receiving one
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record := coalesce(NEW, OLD);
BEGIN
    PERFORM pg_notify('agentdesk_changes', json_build_object('table', TG_TABLE_NAME, 'id', r.id, 'op', lower(TG_OP))::text);
    RETURN NULL;
END
$$;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['ticket', 'adhoc_discount', 'invoice', 'offer'] LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS z_notify ON %I', t);
        EXECUTE format('CREATE TRIGGER z_notify AFTER INSERT OR UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION notify_change()', t);
    END LOOP;
END
$$;

-- ---------------------------------------------------------------------------------------------------
-- Drafts are private: row-level security shows each person their own
-- ---------------------------------------------------------------------------------------------------
ALTER TABLE draft ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS own_drafts ON draft;
-- session_user is of type name (collation "C"): compare as default-collated text so the index serves it.
CREATE POLICY own_drafts ON draft USING (owner = (session_user::text COLLATE "default"))
    WITH CHECK (owner = (session_user::text COLLATE "default"));

-- ---------------------------------------------------------------------------------------------------
-- Users: login roles are created only through these functions, and only by administrators
-- ---------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION admin_add_user(
    p_name text, p_display_name text, p_role text, p_password_verifier text,
    p_unit_codes text[] DEFAULT '{}', p_email text DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    new_id integer;
    unit_code text;
    found_unit integer;
BEGIN
    IF NOT pg_has_role(session_user, 'agentdesk_admin', 'member') THEN
        RAISE EXCEPTION 'Only an administrator can add users' USING ERRCODE = 'AD001';
    END IF;
    IF p_name IS NULL OR p_name !~ '^[a-z][a-z0-9_.]{2,62}$' THEN
        RAISE EXCEPTION 'User names are 3-63 characters: lower-case letters, digits, "_" or ".", starting with a letter'
            USING ERRCODE = 'AD003', DETAIL = 'name';
    END IF;
    IF p_name LIKE 'agentdesk\_%' OR p_name LIKE 'pg\_%' OR p_name = 'postgres' THEN
        RAISE EXCEPTION 'The user name "%" is reserved: choose another', p_name USING ERRCODE = 'AD003', DETAIL = 'name';
    END IF;
    IF p_role NOT IN ('csr', 'manager', 'accounting', 'admin') THEN
        RAISE EXCEPTION 'Role must be csr, manager, accounting or admin' USING ERRCODE = 'AD003', DETAIL = 'role';
    END IF;
    IF coalesce(btrim(p_display_name), '') = '' THEN
        RAISE EXCEPTION 'Give the person''s full name' USING ERRCODE = 'AD003', DETAIL = 'display_name';
    END IF;
    IF p_password_verifier IS NULL OR p_password_verifier NOT LIKE 'SCRAM-SHA-256$%' THEN
        RAISE EXCEPTION 'A password is required' USING ERRCODE = 'AD003', DETAIL = 'password';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_name) OR EXISTS (SELECT 1 FROM app_user WHERE role_name = p_name) THEN
        RAISE EXCEPTION 'A user named "%" already exists', p_name USING ERRCODE = 'AD002';
    END IF;
    EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE %I', p_name, p_password_verifier, 'agentdesk_' || p_role);
    INSERT INTO app_user (role_name, display_name, email, role) VALUES (p_name, btrim(p_display_name), p_email, p_role)
        RETURNING id INTO new_id;
    FOREACH unit_code IN ARRAY coalesce(p_unit_codes, '{}') LOOP
        SELECT u.id INTO found_unit FROM unit u WHERE u.code = unit_code;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'There is no unit "%"', unit_code USING ERRCODE = 'AD003', DETAIL = 'unit';
        END IF;
        INSERT INTO user_unit (user_id, unit_id) VALUES (new_id, found_unit);
    END LOOP;
    RETURN new_id;
END
$$;

CREATE OR REPLACE FUNCTION admin_set_user_active(p_name text, p_active boolean) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT pg_has_role(session_user, 'agentdesk_admin', 'member') THEN
        RAISE EXCEPTION 'Only an administrator can disable or enable users' USING ERRCODE = 'AD001';
    END IF;
    IF p_name = session_user AND NOT p_active THEN
        RAISE EXCEPTION 'You cannot disable yourself' USING ERRCODE = 'AD002';
    END IF;
    UPDATE app_user SET active = p_active WHERE role_name = p_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'There is no user "%"', p_name USING ERRCODE = 'AD004';
    END IF;
    EXECUTE format('ALTER ROLE %I %s', p_name, CASE WHEN p_active THEN 'LOGIN' ELSE 'NOLOGIN' END);
END
$$;

CREATE OR REPLACE FUNCTION admin_set_password(p_name text, p_password_verifier text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT (pg_has_role(session_user, 'agentdesk_admin', 'member') OR p_name = session_user) THEN
        RAISE EXCEPTION 'Only an administrator can change another user''s password' USING ERRCODE = 'AD001';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM app_user WHERE role_name = p_name) THEN
        RAISE EXCEPTION 'There is no user "%"', p_name USING ERRCODE = 'AD004';
    END IF;
    IF p_password_verifier NOT LIKE 'SCRAM-SHA-256$%' THEN
        RAISE EXCEPTION 'A password is required' USING ERRCODE = 'AD003', DETAIL = 'password';
    END IF;
    EXECUTE format('ALTER ROLE %I PASSWORD %L', p_name, p_password_verifier);
END
$$;

CREATE OR REPLACE FUNCTION admin_update_user(p_name text, p_role text, p_unit_codes text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    person app_user%ROWTYPE;
    unit_code text;
    found_unit integer;
BEGIN
    IF NOT pg_has_role(session_user, 'agentdesk_admin', 'member') THEN
        RAISE EXCEPTION 'Only an administrator can change a user''s role or units' USING ERRCODE = 'AD001';
    END IF;
    SELECT * INTO person FROM app_user WHERE role_name = p_name FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'There is no user "%"', p_name USING ERRCODE = 'AD004';
    END IF;
    IF p_role IS NOT NULL AND p_role <> person.role THEN
        IF p_role NOT IN ('csr', 'manager', 'accounting', 'admin') THEN
            RAISE EXCEPTION 'Role must be csr, manager, accounting or admin' USING ERRCODE = 'AD003', DETAIL = 'role';
        END IF;
        IF p_name = session_user AND person.role = 'admin' THEN
            RAISE EXCEPTION 'You cannot take away your own administrator role' USING ERRCODE = 'AD002';
        END IF;
        EXECUTE format('REVOKE %I FROM %I', 'agentdesk_' || person.role, p_name);
        EXECUTE format('GRANT %I TO %I', 'agentdesk_' || p_role, p_name);
        UPDATE app_user SET role = p_role WHERE id = person.id;
    END IF;
    IF p_unit_codes IS NOT NULL THEN
        DELETE FROM user_unit WHERE user_id = person.id;
        FOREACH unit_code IN ARRAY p_unit_codes LOOP
            SELECT u.id INTO found_unit FROM unit u WHERE u.code = unit_code;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'There is no unit "%"', unit_code USING ERRCODE = 'AD003', DETAIL = 'unit';
            END IF;
            INSERT INTO user_unit (user_id, unit_id) VALUES (person.id, found_unit) ON CONFLICT DO NOTHING;
        END LOOP;
    END IF;
END
$$;

REVOKE ALL ON FUNCTION admin_add_user(text, text, text, text, text[], text) FROM PUBLIC;
REVOKE ALL ON FUNCTION admin_update_user(text, text, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION admin_set_user_active(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION admin_set_password(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION admin_add_user(text, text, text, text, text[], text) TO agentdesk_admin;
GRANT EXECUTE ON FUNCTION admin_set_user_active(text, boolean) TO agentdesk_admin;
GRANT EXECUTE ON FUNCTION admin_update_user(text, text, text[]) TO agentdesk_admin;
GRANT EXECUTE ON FUNCTION admin_set_password(text, text) TO agentdesk_admin, agentdesk_csr, agentdesk_manager, agentdesk_accounting;

-- ---------------------------------------------------------------------------------------------------
-- Grants: each group gets what its work needs, nothing more
-- ---------------------------------------------------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, agentdesk_csr, agentdesk_manager, agentdesk_accounting, agentdesk_admin;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, agentdesk_csr, agentdesk_manager, agentdesk_accounting, agentdesk_admin;
GRANT USAGE ON SCHEMA public TO agentdesk_csr, agentdesk_manager, agentdesk_accounting, agentdesk_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO agentdesk_csr, agentdesk_manager, agentdesk_accounting, agentdesk_admin;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO agentdesk_csr, agentdesk_manager, agentdesk_accounting, agentdesk_admin;
-- schema_script and alembic_version stay readable: every person's sign-in checks the schema revision.

-- Front line (every group works tickets): tickets, notes, drafts, offers, discounts to be approved, outbox.
GRANT INSERT, UPDATE ON ticket, offer, adhoc_discount TO agentdesk_csr, agentdesk_manager, agentdesk_accounting, agentdesk_admin;
GRANT INSERT ON ticket_event, ticket_note, customer_note, adhoc_discount_item, outbox_message, background_job
    TO agentdesk_csr, agentdesk_manager, agentdesk_accounting, agentdesk_admin;
GRANT DELETE ON adhoc_discount_item TO agentdesk_csr, agentdesk_manager, agentdesk_accounting, agentdesk_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON draft TO agentdesk_csr, agentdesk_manager, agentdesk_accounting, agentdesk_admin;
GRANT UPDATE (email, phone, address_line1, address_line2, postal_code, city, country) ON customer
    TO agentdesk_csr, agentdesk_manager, agentdesk_accounting, agentdesk_admin;
GRANT UPDATE (state, end_date) ON subscription TO agentdesk_csr, agentdesk_manager, agentdesk_admin;

-- Accounting: billing records, invoices, payments, billing runs and the worker's queues.
GRANT INSERT ON billing_item_record, payment TO agentdesk_accounting;
GRANT INSERT, UPDATE ON invoice, billing_run, invoice_counter TO agentdesk_accounting;
GRANT INSERT, UPDATE, DELETE ON invoice_line, discount_application TO agentdesk_accounting;
GRANT DELETE ON invoice TO agentdesk_accounting;
GRANT UPDATE ON outbox_message, background_job TO agentdesk_accounting;
GRANT UPDATE (state) ON job TO agentdesk_accounting;

-- Managers and administrators keep the rules: discount definitions and routing.
GRANT INSERT, UPDATE ON discount_definition, routing_rule TO agentdesk_manager, agentdesk_admin;

-- Administrators keep the reference data (users only through the functions above).
GRANT INSERT, UPDATE ON company_settings, unit, user_unit, product, customer, subscription, job, billing_item
    TO agentdesk_admin;
GRANT DELETE ON user_unit, routing_rule TO agentdesk_admin;
