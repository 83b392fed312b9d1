-- The freshness contract (docs/design.md "Freshness contract"): a per-GT generation and an outbox of
-- invalidations, both kept by triggers, so that changes made behind the
-- writer's back (plain SQL, a Nopayloaddb server sharing the database) are
-- caught exactly like the writer's own.
--
-- condcache_generation holds, per GT *name*, a value from one global
-- sequence, raised in the same transaction as any change that can alter a
-- read of that GT. Keyed by name and never deleted, so a GT deleted and
-- re-created under the same name gets a generation it never had before, and
-- no cached answer of the old one can match (freshness point 4). The row is
-- locked before nextval is taken, so one GT's generations grow in commit
-- order: a replica whose generation for a GT is at least g holds every
-- change up to g.
--
-- condcache_outbox receives one row per bump; the writer publishes them to
-- Redis after commit and deletes them, and a relay does the same for rows
-- written by others (woken by NOTIFY condcache_invalidate, and by polling).
-- An invalidation Redis cannot take stays in the outbox until it can
-- (freshness point 3).
--
-- Statement-level triggers with transition tables: a COPY of a million IOVs
-- bumps each GT it touches once, not a million times.

CREATE SEQUENCE IF NOT EXISTS condcache_generation_seq;

CREATE TABLE IF NOT EXISTS condcache_generation (
    global_tag text PRIMARY KEY,
    generation bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS condcache_outbox (
    id bigserial PRIMARY KEY,
    global_tag text NOT NULL,
    generation bigint NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
);

-- condcache_bump gives every named GT a new generation and queues it for
-- Redis. Names are locked in sorted order so concurrent bumps cannot
-- deadlock on each other.
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
        any_bumped := true;
    END LOOP;
    IF any_bumped THEN
        PERFORM pg_notify('condcache_invalidate', '');
    END IF;
END
$$;

-- Each trigger function serves INSERT, UPDATE and DELETE triggers of one
-- table; a branch naming a transition table the firing trigger does not have
-- is never planned, so it does no harm.

CREATE OR REPLACE FUNCTION condcache_iov_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM condcache_bump(ARRAY(
            SELECT g.name FROM (SELECT DISTINCT payload_list_id FROM condcache_new) r
            JOIN "PayloadList" l ON l.id = r.payload_list_id
            JOIN "GlobalTag" g ON g.id = l.global_tag_id));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM condcache_bump(ARRAY(
            SELECT g.name FROM (SELECT payload_list_id FROM condcache_new
                                UNION SELECT payload_list_id FROM condcache_old) r
            JOIN "PayloadList" l ON l.id = r.payload_list_id
            JOIN "GlobalTag" g ON g.id = l.global_tag_id));
    ELSE
        PERFORM condcache_bump(ARRAY(
            SELECT g.name FROM (SELECT DISTINCT payload_list_id FROM condcache_old) r
            JOIN "PayloadList" l ON l.id = r.payload_list_id
            JOIN "GlobalTag" g ON g.id = l.global_tag_id));
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION condcache_list_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM condcache_bump(ARRAY(
            SELECT g.name FROM "GlobalTag" g WHERE g.id IN (SELECT global_tag_id FROM condcache_new)));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM condcache_bump(ARRAY(
            SELECT g.name FROM "GlobalTag" g WHERE g.id IN (
                SELECT global_tag_id FROM condcache_new UNION SELECT global_tag_id FROM condcache_old)));
    ELSE
        PERFORM condcache_bump(ARRAY(
            SELECT g.name FROM "GlobalTag" g WHERE g.id IN (SELECT global_tag_id FROM condcache_old)));
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION condcache_globaltag_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM condcache_bump(ARRAY(SELECT name FROM condcache_new));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM condcache_bump(ARRAY(SELECT name FROM condcache_new UNION SELECT name FROM condcache_old));
    ELSE
        PERFORM condcache_bump(ARRAY(SELECT name FROM condcache_old));
    END IF;
    RETURN NULL;
END
$$;

-- A renamed payload type or GT status changes what reads of the GTs using
-- it show.
CREATE OR REPLACE FUNCTION condcache_type_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM condcache_bump(ARRAY(
        SELECT g.name FROM "PayloadList" l JOIN "GlobalTag" g ON g.id = l.global_tag_id
        WHERE l.payload_type_id IN (SELECT id FROM condcache_old)));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION condcache_status_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM condcache_bump(ARRAY(
        SELECT g.name FROM "GlobalTag" g WHERE g.status_id IN (SELECT id FROM condcache_old)));
    RETURN NULL;
END
$$;

-- TRUNCATE has no transition table: every GT may have changed.
CREATE OR REPLACE FUNCTION condcache_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM condcache_bump(ARRAY(
        SELECT global_tag FROM condcache_generation UNION SELECT name FROM "GlobalTag"));
    RETURN NULL;
END
$$;

-- The triggers, one per table and event: triggers with transition tables
-- take one event each, and TRUNCATE has no transition table.
DO $$
DECLARE
    t record;
    referencing text;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('PayloadIOV', 'iov', 'INSERT', 'condcache_iov_changed'),
        ('PayloadIOV', 'iov', 'UPDATE', 'condcache_iov_changed'),
        ('PayloadIOV', 'iov', 'DELETE', 'condcache_iov_changed'),
        ('PayloadList', 'list', 'INSERT', 'condcache_list_changed'),
        ('PayloadList', 'list', 'UPDATE', 'condcache_list_changed'),
        ('PayloadList', 'list', 'DELETE', 'condcache_list_changed'),
        ('GlobalTag', 'globaltag', 'INSERT', 'condcache_globaltag_changed'),
        ('GlobalTag', 'globaltag', 'UPDATE', 'condcache_globaltag_changed'),
        ('GlobalTag', 'globaltag', 'DELETE', 'condcache_globaltag_changed'),
        ('PayloadType', 'type', 'UPDATE', 'condcache_type_changed'),
        ('GlobalTagStatus', 'status', 'UPDATE', 'condcache_status_changed'),
        ('PayloadIOV', 'iov', 'TRUNCATE', 'condcache_truncated'),
        ('PayloadList', 'list', 'TRUNCATE', 'condcache_truncated'),
        ('GlobalTag', 'globaltag', 'TRUNCATE', 'condcache_truncated')
    ) AS v(tbl, short, event, fn) LOOP
        referencing := CASE t.event
            WHEN 'INSERT' THEN 'REFERENCING NEW TABLE AS condcache_new'
            WHEN 'UPDATE' THEN 'REFERENCING OLD TABLE AS condcache_old NEW TABLE AS condcache_new'
            WHEN 'DELETE' THEN 'REFERENCING OLD TABLE AS condcache_old'
            ELSE '' END;
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I',
            'condcache_' || t.short || '_' || lower(t.event), t.tbl);
        EXECUTE format('CREATE TRIGGER %I AFTER %s ON %I %s FOR EACH STATEMENT EXECUTE FUNCTION %I()',
            'condcache_' || t.short || '_' || lower(t.event), t.event, t.tbl, referencing, t.fn);
    END LOOP;
END
$$;

-- Every GT that exists when condcache arrives gets its first generation.
INSERT INTO condcache_generation (global_tag, generation)
SELECT name, nextval('condcache_generation_seq') FROM "GlobalTag"
ON CONFLICT (global_tag) DO NOTHING;
