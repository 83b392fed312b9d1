-- Maintained IOV counts per payload list (docs/design.md "Maintained
-- counts"): globalTags answers each GT's IOV count, which counting rows
-- made cost a scan of every IOV of every GT (310-370 ms at 3M rows, about
-- 4 s at 36M). condcache_list_count holds, per list, how many IOVs name it;
-- statement-level triggers on "PayloadIOV" apply each statement's deltas in
-- its own transaction, whoever writes (the writer, plain SQL, a Nopayloaddb
-- server sharing the database), so the counts are exact at every commit.
-- Counts are per list, not per GT: attaching or detaching a list changes no
-- count, and a GT's count is the sum over its lists (at most a few hundred
-- rows). Deltas are applied in list order, so two statements never wait on
-- each other's count rows in opposite orders. Additive: a table and
-- triggers of condcache's own.

CREATE TABLE IF NOT EXISTS condcache_list_count (
    payload_list_id bigint PRIMARY KEY,
    iovs bigint NOT NULL
);

CREATE OR REPLACE FUNCTION condcache_count_iovs() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM condcache_list_count;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO condcache_list_count AS c (payload_list_id, iovs)
        SELECT payload_list_id, count(*) FROM condcache_new WHERE payload_list_id IS NOT NULL
        GROUP BY payload_list_id ORDER BY payload_list_id
        ON CONFLICT (payload_list_id) DO UPDATE SET iovs = c.iovs + excluded.iovs;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO condcache_list_count AS c (payload_list_id, iovs)
        SELECT payload_list_id, -count(*) FROM condcache_old WHERE payload_list_id IS NOT NULL
        GROUP BY payload_list_id ORDER BY payload_list_id
        ON CONFLICT (payload_list_id) DO UPDATE SET iovs = c.iovs + excluded.iovs;
    ELSE
        INSERT INTO condcache_list_count AS c (payload_list_id, iovs)
        SELECT l, sum(d) FROM (
            SELECT payload_list_id AS l, 1 AS d FROM condcache_new WHERE payload_list_id IS NOT NULL
            UNION ALL
            SELECT payload_list_id, -1 FROM condcache_old WHERE payload_list_id IS NOT NULL) x
        GROUP BY l HAVING sum(d) <> 0 ORDER BY l
        ON CONFLICT (payload_list_id) DO UPDATE SET iovs = c.iovs + excluded.iovs;
    END IF;
    RETURN NULL;
END
$$;

DO $$
DECLARE
    event text;
    referencing text;
BEGIN
    FOREACH event IN ARRAY ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'] LOOP
        referencing := CASE event
            WHEN 'INSERT' THEN 'REFERENCING NEW TABLE AS condcache_new'
            WHEN 'UPDATE' THEN 'REFERENCING OLD TABLE AS condcache_old NEW TABLE AS condcache_new'
            WHEN 'DELETE' THEN 'REFERENCING OLD TABLE AS condcache_old'
            ELSE '' END;
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON "PayloadIOV"', 'condcache_count_' || lower(event));
        EXECUTE format('CREATE TRIGGER %I AFTER %s ON "PayloadIOV" %s FOR EACH STATEMENT EXECUTE FUNCTION condcache_count_iovs()',
            'condcache_count_' || lower(event), event, referencing);
    END LOOP;
END
$$;

-- The counts of the IOVs already there, with writers held off meanwhile (a
-- write committing between the count and the triggers would be missed).
LOCK TABLE "PayloadIOV" IN SHARE MODE;
INSERT INTO condcache_list_count (payload_list_id, iovs)
SELECT payload_list_id, count(*) FROM "PayloadIOV" WHERE payload_list_id IS NOT NULL GROUP BY payload_list_id
ON CONFLICT (payload_list_id) DO UPDATE SET iovs = excluded.iovs;
