-- Notices (docs/design.md "Notices"), after Alyx's DataNotice: a markdown
-- description with an importance, an author, an optional version, run
-- range and dates, attached to any number of GTs, payload types, payload
-- lists and IOVs. The answers a notice applies to carry it, so a change to
-- a notice or its links bumps the generation of every GT it concerns, and
-- cached answers of those GTs are invalidated like after any write.

CREATE TABLE IF NOT EXISTS condcache_notice (
    id bigserial PRIMARY KEY,
    description text NOT NULL,
    description_html text NOT NULL,
    importance smallint NOT NULL CHECK (importance IN (20, 30, 40, 50)),
    author text NOT NULL,
    created timestamptz NOT NULL DEFAULT now(),
    updated timestamptz NOT NULL DEFAULT now(),
    version_affected text,
    -- The affected run range, both ends inclusive; all four NULL: every run.
    runs_from_major bigint,
    runs_from_minor bigint,
    runs_to_major bigint,
    runs_to_minor bigint,
    -- The affected dates; informational.
    dates_from timestamptz,
    dates_to timestamptz
);
CREATE INDEX IF NOT EXISTS condcache_notice_order_idx ON condcache_notice (importance DESC, created DESC, id DESC);

-- One row per object a notice is attached to: exactly one of the four.
CREATE TABLE IF NOT EXISTS condcache_notice_link (
    id bigserial PRIMARY KEY, -- the audit trail keys rows by id
    notice_id bigint NOT NULL REFERENCES condcache_notice (id) ON DELETE CASCADE,
    global_tag text,
    payload_type text,
    payload_list text,
    iov_id bigint,
    CHECK (num_nonnulls(global_tag, payload_type, payload_list, iov_id) = 1)
);
CREATE INDEX IF NOT EXISTS condcache_notice_link_notice_idx ON condcache_notice_link (notice_id);
CREATE INDEX IF NOT EXISTS condcache_notice_link_gt_idx ON condcache_notice_link (global_tag) WHERE global_tag IS NOT NULL;
CREATE INDEX IF NOT EXISTS condcache_notice_link_type_idx ON condcache_notice_link (payload_type) WHERE payload_type IS NOT NULL;
CREATE INDEX IF NOT EXISTS condcache_notice_link_list_idx ON condcache_notice_link (payload_list) WHERE payload_list IS NOT NULL;
CREATE INDEX IF NOT EXISTS condcache_notice_link_iov_idx ON condcache_notice_link (iov_id) WHERE iov_id IS NOT NULL;

-- condcache_notice_gts names the GTs that links of the notices ids concern:
-- the GTs themselves, those with a list of the types, the GTs of the
-- lists, and the GTs of the IOVs' lists.
CREATE OR REPLACE FUNCTION condcache_notice_gts(ids bigint[]) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT name), '{}') FROM (
        SELECT k.global_tag AS name FROM condcache_notice_link k
        WHERE k.notice_id = ANY (ids) AND k.global_tag IS NOT NULL
        UNION
        SELECT g.name FROM condcache_notice_link k
        JOIN "PayloadType" t ON t.name = k.payload_type
        JOIN "PayloadList" l ON l.payload_type_id = t.id
        JOIN "GlobalTag" g ON g.id = l.global_tag_id
        WHERE k.notice_id = ANY (ids)
        UNION
        SELECT g.name FROM condcache_notice_link k
        JOIN "PayloadList" l ON l.name = k.payload_list
        JOIN "GlobalTag" g ON g.id = l.global_tag_id
        WHERE k.notice_id = ANY (ids)
        UNION
        SELECT g.name FROM condcache_notice_link k
        JOIN "PayloadIOV" i ON i.id = k.iov_id
        JOIN "PayloadList" l ON l.id = i.payload_list_id
        JOIN "GlobalTag" g ON g.id = l.global_tag_id
        WHERE k.notice_id = ANY (ids)
    ) gts
$$;

-- A change to notices bumps the GTs they concern, before (a removed link)
-- and after (an added one) the statement: the link trigger sees both sides
-- through its transition tables; the notice trigger covers description or
-- range changes and deletions (its links are still there in an AFTER
-- trigger of the notice, but gone after the cascade: the link trigger
-- fires for those).
CREATE OR REPLACE FUNCTION condcache_notice_link_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    names text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        names := condcache_notice_gts(ARRAY(SELECT DISTINCT notice_id FROM condcache_new));
    ELSE
        -- Removed links: resolve them as they were (the link rows are gone).
        names := ARRAY(
            SELECT o.global_tag FROM condcache_old o WHERE o.global_tag IS NOT NULL
            UNION SELECT g.name FROM condcache_old o
                JOIN "PayloadType" t ON t.name = o.payload_type
                JOIN "PayloadList" l ON l.payload_type_id = t.id
                JOIN "GlobalTag" g ON g.id = l.global_tag_id
            UNION SELECT g.name FROM condcache_old o
                JOIN "PayloadList" l ON l.name = o.payload_list
                JOIN "GlobalTag" g ON g.id = l.global_tag_id
            UNION SELECT g.name FROM condcache_old o
                JOIN "PayloadIOV" i ON i.id = o.iov_id
                JOIN "PayloadList" l ON l.id = i.payload_list_id
                JOIN "GlobalTag" g ON g.id = l.global_tag_id);
    END IF;
    PERFORM condcache_bump(names);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION condcache_notice_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM condcache_bump(condcache_notice_gts(ARRAY(SELECT id FROM condcache_new)));
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS condcache_notice_link_insert ON condcache_notice_link;
CREATE TRIGGER condcache_notice_link_insert AFTER INSERT ON condcache_notice_link
    REFERENCING NEW TABLE AS condcache_new FOR EACH STATEMENT EXECUTE FUNCTION condcache_notice_link_changed();
DROP TRIGGER IF EXISTS condcache_notice_link_delete ON condcache_notice_link;
CREATE TRIGGER condcache_notice_link_delete AFTER DELETE ON condcache_notice_link
    REFERENCING OLD TABLE AS condcache_old FOR EACH STATEMENT EXECUTE FUNCTION condcache_notice_link_changed();
DROP TRIGGER IF EXISTS condcache_notice_update ON condcache_notice;
CREATE TRIGGER condcache_notice_update AFTER UPDATE ON condcache_notice
    REFERENCING NEW TABLE AS condcache_new FOR EACH STATEMENT EXECUTE FUNCTION condcache_notice_changed();

-- The audit trail records notices like the other tables (migration 006).
DO $$
DECLARE
    t record;
    referencing text;
BEGIN
    FOR t IN SELECT tbl, event FROM
        unnest(ARRAY['condcache_notice', 'condcache_notice_link']) AS tbl,
        unnest(ARRAY['INSERT', 'UPDATE', 'DELETE']) AS event
    LOOP
        referencing := CASE t.event
            WHEN 'INSERT' THEN 'REFERENCING NEW TABLE AS condcache_new'
            WHEN 'UPDATE' THEN 'REFERENCING OLD TABLE AS condcache_old NEW TABLE AS condcache_new'
            ELSE 'REFERENCING OLD TABLE AS condcache_old' END;
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I',
            'condcache_audit_' || t.tbl || '_' || lower(t.event), t.tbl);
        EXECUTE format('CREATE TRIGGER %I AFTER %s ON %I %s FOR EACH STATEMENT EXECUTE FUNCTION condcache_audit_capture()',
            'condcache_audit_' || t.tbl || '_' || lower(t.event), t.event, t.tbl, referencing);
    END LOOP;
END
$$;
