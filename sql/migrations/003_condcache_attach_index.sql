---- tern: disable-tx ----
-- Index for the writer's attach (and IOV delete): the attach rules order a
-- list's IOVs by (major_iov, minor_iov, id), not by comb_iov, because stored
-- comb_iov values can be stale (docs/compatibility.md "comb_iov") and the two orders differ for
-- negative minors. Without it an attach reads the whole list (270 ms on a
-- 500k-row list instead of 5 ms). Additive and built CONCURRENTLY like 002.

DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_index
        WHERE indexrelid = to_regclass('condcache_attach_idx') AND NOT indisvalid
    ) THEN
        DROP INDEX condcache_attach_idx;
    END IF;
END
$$;

CREATE INDEX CONCURRENTLY IF NOT EXISTS condcache_attach_idx ON "PayloadIOV"
    USING btree (payload_list_id, major_iov, minor_iov, id);
