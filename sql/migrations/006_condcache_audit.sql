-- The audit trail (docs/design.md "Audit trail"): one entry per committed
-- transaction that changed condcache's tables, holding who made it, through
-- which endpoint, the rows before and after, and the GT generations it
-- produced. It is kept by triggers in the write's own transaction, so an
-- entry never exists without its write nor a write without its entry, and
-- writes made with plain SQL (or by a Nopayloaddb server sharing the
-- database) are captured too, with actor 'sql'.
--
-- The writer names itself at the start of each transaction with
-- transaction-local settings (set_config(..., true)): condcache.actor,
-- condcache.endpoint and condcache.request (a bounded JSON summary of the
-- request, secrets removed). Nothing else is needed from a writer.
--
-- The images are full rows (to_jsonb), so that any list can be
-- reconstructed at any past time by undoing the entries after it, newest
-- first: remove the rows of "new", put back the rows of "old".

CREATE TABLE IF NOT EXISTS condcache_audit (
    id bigserial PRIMARY KEY,
    txid bigint NOT NULL,
    -- Set at commit by condcache_audit_stamp, so entries of one GT sort in
    -- commit order (its generation row lock orders those commits).
    time timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor text NOT NULL,
    endpoint text NOT NULL DEFAULT '',
    request jsonb
);
CREATE UNIQUE INDEX IF NOT EXISTS condcache_audit_txid_idx ON condcache_audit (txid);
CREATE INDEX IF NOT EXISTS condcache_audit_time_idx ON condcache_audit (time DESC, id DESC);
CREATE INDEX IF NOT EXISTS condcache_audit_actor_idx ON condcache_audit (actor, time DESC);

-- What one statement did to one table, in chunks of at most 5,000 rows
-- (a clone of millions of IOVs stays far below jsonb's size limit). lists
-- are the payload lists involved (those of the IOVs, or the lists
-- themselves), so that reconstructing a list finds every entry that
-- touched it; types are the lists' payload types, for the type filter.
CREATE TABLE IF NOT EXISTS condcache_audit_change (
    id bigserial PRIMARY KEY,
    audit_id bigint NOT NULL REFERENCES condcache_audit (id) ON DELETE CASCADE,
    tbl text NOT NULL,
    op text NOT NULL,
    lists bigint[] NOT NULL DEFAULT '{}',
    types text[] NOT NULL DEFAULT '{}',
    rows integer NOT NULL,
    old jsonb,
    new jsonb
);
CREATE INDEX IF NOT EXISTS condcache_audit_change_entry_idx ON condcache_audit_change (audit_id, id);
CREATE INDEX IF NOT EXISTS condcache_audit_change_lists_idx ON condcache_audit_change USING gin (lists);
CREATE INDEX IF NOT EXISTS condcache_audit_change_types_idx ON condcache_audit_change USING gin (types);

-- The generation each GT reached in the entry's transaction (one row per
-- GT, its last bump): the GTs whose answers the write changed.
CREATE TABLE IF NOT EXISTS condcache_audit_generation (
    audit_id bigint NOT NULL REFERENCES condcache_audit (id) ON DELETE CASCADE,
    global_tag text NOT NULL,
    generation bigint NOT NULL,
    PRIMARY KEY (audit_id, global_tag)
);
CREATE INDEX IF NOT EXISTS condcache_audit_generation_gt_idx ON condcache_audit_generation (global_tag, audit_id DESC);

-- condcache_audit_entry returns the current transaction's entry, creating
-- it on first use. Its id is kept in a transaction-local setting, which a
-- rolled-back savepoint takes back together with the row.
CREATE OR REPLACE FUNCTION condcache_audit_entry() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    e bigint := nullif(current_setting('condcache.audit_entry', true), '')::bigint;
BEGIN
    IF e IS NOT NULL THEN
        RETURN e;
    END IF;
    INSERT INTO condcache_audit (txid, actor, endpoint, request)
    VALUES (txid_current(),
            coalesce(nullif(current_setting('condcache.actor', true), ''), 'sql'),
            coalesce(current_setting('condcache.endpoint', true), ''),
            nullif(current_setting('condcache.request', true), '')::jsonb)
    RETURNING id INTO e;
    PERFORM set_config('condcache.audit_entry', e::text, true);
    RETURN e;
END
$$;

-- The commit time: a deferred trigger runs at COMMIT, after every
-- statement of the transaction.
CREATE OR REPLACE FUNCTION condcache_audit_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE condcache_audit SET time = clock_timestamp() WHERE id = NEW.id;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS condcache_audit_stamp ON condcache_audit;
CREATE CONSTRAINT TRIGGER condcache_audit_stamp AFTER INSERT ON condcache_audit
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION condcache_audit_stamp();

-- condcache_audit_types names the payload types of lists and types.
CREATE OR REPLACE FUNCTION condcache_audit_types(list_ids bigint[], type_ids bigint[]) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT t.name), '{}')
    FROM "PayloadType" t
    WHERE t.id IN (SELECT unnest(type_ids)
                   UNION SELECT l.payload_type_id FROM "PayloadList" l WHERE l.id = ANY (list_ids))
$$;

-- condcache_audit_capture serves the INSERT, UPDATE, DELETE and TRUNCATE
-- triggers of the five tables. As in condcache_iov_changed, a branch that
-- names a transition table the firing trigger lacks is never planned.
CREATE OR REPLACE FUNCTION condcache_audit_capture() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    e bigint := condcache_audit_entry();
    lists bigint[] := '{}';
    types text[] := '{}';
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO condcache_audit_change (audit_id, tbl, op, rows) VALUES (e, TG_TABLE_NAME, TG_OP, 0);
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF TG_TABLE_NAME = 'PayloadIOV' THEN
            lists := ARRAY(SELECT DISTINCT payload_list_id FROM condcache_new WHERE payload_list_id IS NOT NULL);
        ELSIF TG_TABLE_NAME = 'PayloadList' THEN
            lists := ARRAY(SELECT id FROM condcache_new);
            types := condcache_audit_types('{}', ARRAY(SELECT DISTINCT payload_type_id FROM condcache_new));
        ELSIF TG_TABLE_NAME = 'PayloadType' THEN
            types := ARRAY(SELECT name FROM condcache_new);
        END IF;
    ELSIF TG_OP = 'UPDATE' THEN
        IF TG_TABLE_NAME = 'PayloadIOV' THEN
            lists := ARRAY(SELECT payload_list_id FROM condcache_new WHERE payload_list_id IS NOT NULL
                           UNION SELECT payload_list_id FROM condcache_old WHERE payload_list_id IS NOT NULL);
        ELSIF TG_TABLE_NAME = 'PayloadList' THEN
            lists := ARRAY(SELECT id FROM condcache_new UNION SELECT id FROM condcache_old);
            types := condcache_audit_types('{}', ARRAY(
                SELECT payload_type_id FROM condcache_new UNION SELECT payload_type_id FROM condcache_old));
        ELSIF TG_TABLE_NAME = 'PayloadType' THEN
            types := ARRAY(SELECT name FROM condcache_new UNION SELECT name FROM condcache_old);
        END IF;
    ELSE
        IF TG_TABLE_NAME = 'PayloadIOV' THEN
            lists := ARRAY(SELECT DISTINCT payload_list_id FROM condcache_old WHERE payload_list_id IS NOT NULL);
        ELSIF TG_TABLE_NAME = 'PayloadList' THEN
            lists := ARRAY(SELECT id FROM condcache_old);
            types := condcache_audit_types('{}', ARRAY(SELECT DISTINCT payload_type_id FROM condcache_old));
        ELSIF TG_TABLE_NAME = 'PayloadType' THEN
            types := ARRAY(SELECT name FROM condcache_old);
        END IF;
    END IF;
    IF TG_TABLE_NAME = 'PayloadIOV' THEN
        types := condcache_audit_types(lists, '{}');
    END IF;

    IF TG_OP = 'INSERT' THEN
        INSERT INTO condcache_audit_change (audit_id, tbl, op, lists, types, rows, new)
        SELECT e, TG_TABLE_NAME, TG_OP, lists, types, count(*), jsonb_agg(j)
        FROM (SELECT to_jsonb(x) AS j, (row_number() OVER (ORDER BY x.id) - 1) / 5000 AS chunk FROM condcache_new x) r
        GROUP BY chunk;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO condcache_audit_change (audit_id, tbl, op, lists, types, rows, old, new)
        SELECT e, TG_TABLE_NAME, TG_OP, lists, types, greatest(o.n, nw.n), o.rows, nw.rows
        FROM (SELECT chunk, count(*) AS n, jsonb_agg(j) AS rows
              FROM (SELECT to_jsonb(x) AS j, (row_number() OVER (ORDER BY x.id) - 1) / 5000 AS chunk FROM condcache_old x) r
              GROUP BY chunk) o
        FULL JOIN (SELECT chunk, count(*) AS n, jsonb_agg(j) AS rows
              FROM (SELECT to_jsonb(x) AS j, (row_number() OVER (ORDER BY x.id) - 1) / 5000 AS chunk FROM condcache_new x) r
              GROUP BY chunk) nw USING (chunk);
    ELSE
        INSERT INTO condcache_audit_change (audit_id, tbl, op, lists, types, rows, old)
        SELECT e, TG_TABLE_NAME, TG_OP, lists, types, count(*), jsonb_agg(j)
        FROM (SELECT to_jsonb(x) AS j, (row_number() OVER (ORDER BY x.id) - 1) / 5000 AS chunk FROM condcache_old x) r
        GROUP BY chunk;
    END IF;
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t record;
    referencing text;
BEGIN
    FOR t IN SELECT tbl, event FROM
        unnest(ARRAY['GlobalTagStatus', 'GlobalTag', 'PayloadType', 'PayloadList', 'PayloadIOV']) AS tbl,
        unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS event
    LOOP
        referencing := CASE t.event
            WHEN 'INSERT' THEN 'REFERENCING NEW TABLE AS condcache_new'
            WHEN 'UPDATE' THEN 'REFERENCING OLD TABLE AS condcache_old NEW TABLE AS condcache_new'
            WHEN 'DELETE' THEN 'REFERENCING OLD TABLE AS condcache_old'
            ELSE '' END;
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I',
            'condcache_audit_' || lower(t.tbl) || '_' || lower(t.event), t.tbl);
        EXECUTE format('CREATE TRIGGER %I AFTER %s ON %I %s FOR EACH STATEMENT EXECUTE FUNCTION condcache_audit_capture()',
            'condcache_audit_' || lower(t.tbl) || '_' || lower(t.event), t.event, t.tbl, referencing);
    END LOOP;
END
$$;

-- condcache_bump (migration 004) also records each GT's new generation in
-- the transaction's entry.
CREATE OR REPLACE FUNCTION condcache_bump(names text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n text;
    g bigint;
    any_bumped boolean := false;
BEGIN
    FOR n IN SELECT DISTINCT x FROM unnest(names) AS x WHERE x IS NOT NULL ORDER BY x LOOP
        INSERT INTO condcache_generation (global_tag, generation) VALUES (n, 0)
            ON CONFLICT (global_tag) DO NOTHING;
        PERFORM 1 FROM condcache_generation WHERE global_tag = n FOR UPDATE;
        g := nextval('condcache_generation_seq');
        UPDATE condcache_generation SET generation = g WHERE global_tag = n;
        INSERT INTO condcache_outbox (global_tag, generation) VALUES (n, g);
        INSERT INTO condcache_audit_generation (audit_id, global_tag, generation)
            VALUES (condcache_audit_entry(), n, g)
            ON CONFLICT (audit_id, global_tag) DO UPDATE SET generation = excluded.generation;
        any_bumped := true;
    END LOOP;
    IF any_bumped THEN
        PERFORM pg_notify('condcache_invalidate', '');
    END IF;
END
$$;
