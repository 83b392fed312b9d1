---- tern: disable-tx ----
-- condcache's covering index for the run lookup (docs/design.md "Lookups"): for
-- one payload list, the IOVs in the order the lookup wants them (greatest
-- comb_iov first, ties by highest id) with every column the lookup returns,
-- so each attached list costs one index-only descent and no heap access.
-- Additive: Nopayloaddb's covering_idx stays for a Django server sharing the
-- database.
--
-- Built CONCURRENTLY, so that migrating a live database with millions of IOVs
-- does not block its writers; that cannot run in a transaction, hence
-- disable-tx above. Each statement is idempotent, so a run interrupted
-- anywhere is completed by the next one.

-- A concurrent build that failed (or was interrupted) leaves an INVALID
-- index behind, which IF NOT EXISTS would then take as done: drop it first.
DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_index
        WHERE indexrelid = to_regclass('condcache_lookup_idx') AND NOT indisvalid
    ) THEN
        DROP INDEX condcache_lookup_idx;
    END IF;
END
$$;

CREATE INDEX CONCURRENTLY IF NOT EXISTS condcache_lookup_idx ON "PayloadIOV"
    USING btree (payload_list_id, comb_iov DESC NULLS LAST, id DESC)
    INCLUDE (payload_url, checksum, size, major_iov, minor_iov, major_iov_end, minor_iov_end, extra);
