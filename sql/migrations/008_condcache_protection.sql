-- Protection (docs/design.md "Protection"), after Alyx's protected tags on
-- datasets: GTs, payload lists and IOVs can be marked protected. A mark
-- protects its object and what the object holds (a GT's attached lists and
-- their attached IOVs, a list's attached IOVs) from every delete; the
-- writer refuses a delete that would remove a protected object unless the
-- request says force=1 and its caller has the admin permission. A frozen
-- GT's lists and IOVs are protected by its status, without marks.
--
-- One row per marked object, keyed by the object's id (ids are never
-- reused, so a mark cannot pass to a later object). There is no foreign
-- key: a cascade of row triggers would cost a lookup per deleted IOV, and
-- the writer removes the marks of what a forced delete removes; a mark
-- whose object was deleted with plain SQL is ignored by every read.

CREATE TABLE IF NOT EXISTS condcache_protection (
    id bigserial PRIMARY KEY, -- the audit trail keys rows by id
    kind text NOT NULL CHECK (kind IN ('GlobalTag', 'PayloadList', 'PayloadIOV')),
    object_id bigint NOT NULL,
    note text NOT NULL DEFAULT '',
    actor text NOT NULL,
    created timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT condcache_protection_object_key UNIQUE (kind, object_id)
);

-- condcache_protection_gts names the GTs that marks concern: a GT's own
-- name, a list's GT, an IOV's list's GT.
CREATE OR REPLACE FUNCTION condcache_protection_gts(kinds text[], ids bigint[]) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT name), '{}') FROM (
        SELECT g.name FROM unnest(kinds, ids) AS m(kind, object_id)
        JOIN "GlobalTag" g ON g.id = m.object_id
        WHERE m.kind = 'GlobalTag'
        UNION
        SELECT g.name FROM unnest(kinds, ids) AS m(kind, object_id)
        JOIN "PayloadList" l ON l.id = m.object_id
        JOIN "GlobalTag" g ON g.id = l.global_tag_id
        WHERE m.kind = 'PayloadList'
        UNION
        SELECT g.name FROM unnest(kinds, ids) AS m(kind, object_id)
        JOIN "PayloadIOV" i ON i.id = m.object_id
        JOIN "PayloadList" l ON l.id = i.payload_list_id
        JOIN "GlobalTag" g ON g.id = l.global_tag_id
        WHERE m.kind = 'PayloadIOV'
    ) gts
$$;

-- A change of marks bumps the GTs they concern, as any write of them does
-- (migration 004): the audit trail then lists it under those GTs, and a
-- transaction that read the GT's marks in an older snapshot (a clone that
-- replaces its target, in REPEATABLE READ) fails to serialise when it
-- bumps the GT, and is run again.
CREATE OR REPLACE FUNCTION condcache_protection_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM condcache_bump(condcache_protection_gts(
            ARRAY(SELECT kind FROM condcache_new ORDER BY id), ARRAY(SELECT object_id FROM condcache_new ORDER BY id)));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM condcache_bump(condcache_protection_gts(
            ARRAY(SELECT kind FROM condcache_new ORDER BY id), ARRAY(SELECT object_id FROM condcache_new ORDER BY id)));
    ELSE
        PERFORM condcache_bump(condcache_protection_gts(
            ARRAY(SELECT kind FROM condcache_old ORDER BY id), ARRAY(SELECT object_id FROM condcache_old ORDER BY id)));
    END IF;
    RETURN NULL;
END
$$;

-- Marks are recorded by the audit trail like the other tables (migration
-- 006), and bump their GTs.
DO $$
DECLARE
    t record;
    referencing text;
BEGIN
    FOR t IN SELECT * FROM unnest(ARRAY['INSERT', 'UPDATE', 'DELETE']) AS event LOOP
        referencing := CASE t.event
            WHEN 'INSERT' THEN 'REFERENCING NEW TABLE AS condcache_new'
            WHEN 'UPDATE' THEN 'REFERENCING OLD TABLE AS condcache_old NEW TABLE AS condcache_new'
            ELSE 'REFERENCING OLD TABLE AS condcache_old' END;
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON condcache_protection',
            'condcache_audit_condcache_protection_' || lower(t.event));
        EXECUTE format('CREATE TRIGGER %I AFTER %s ON condcache_protection %s FOR EACH STATEMENT EXECUTE FUNCTION condcache_audit_capture()',
            'condcache_audit_condcache_protection_' || lower(t.event), t.event, referencing);
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON condcache_protection',
            'condcache_protection_' || lower(t.event));
        EXECUTE format('CREATE TRIGGER %I AFTER %s ON condcache_protection %s FOR EACH STATEMENT EXECUTE FUNCTION condcache_protection_changed()',
            'condcache_protection_' || lower(t.event), t.event, referencing);
    END LOOP;
END
$$;

-- What a write deleted under force=1: the protected objects, each with the
-- mark that protected it, as the writer records it in its entry. NULL for
-- every other entry.
ALTER TABLE condcache_audit ADD COLUMN IF NOT EXISTS forced jsonb;
