-- Compact audit images for large IOV inserts (docs/design.md "Audit trail"):
-- a statement inserting more than 5,000 IOVs (a bulk load, a clone) records
-- the ids it inserted in new_ids, not a JSON image of every row. Storing a
-- million images cost more than the insert itself (to_jsonb and jsonb_agg
-- of each row, measured at about 70% of a bulk load's time), and nothing is
-- lost: an inserted row is, until its next change, the row as the table
-- holds it, and every later change (UPDATE, DELETE) records its full old
-- image. Readers rebuild the images from those two (sql audit.go,
-- materialize); undoing such an insert needs only the ids. Smaller inserts
-- and every other operation keep full images as before. Additive: a column
-- of condcache's own table, and a new version of condcache's trigger
-- function.

ALTER TABLE condcache_audit_change ADD COLUMN IF NOT EXISTS new_ids bigint[];

CREATE OR REPLACE FUNCTION condcache_audit_capture() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    e bigint := condcache_audit_entry();
    lists bigint[] := '{}';
    types text[] := '{}';
    n_new bigint := 0;
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
        IF TG_OP = 'INSERT' THEN
            SELECT count(*) INTO n_new FROM condcache_new;
        END IF;
    END IF;

    IF TG_OP = 'INSERT' AND TG_TABLE_NAME = 'PayloadIOV' AND n_new > 5000 THEN
        -- A large IOV insert (bulk load, clone): the ids only.
        INSERT INTO condcache_audit_change (audit_id, tbl, op, lists, types, rows, new_ids)
        SELECT e, TG_TABLE_NAME, TG_OP, lists, types, n_new, array_agg(id ORDER BY id) FROM condcache_new;
    ELSIF TG_OP = 'INSERT' THEN
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
