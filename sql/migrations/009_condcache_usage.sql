-- Access accounting (docs/design.md "Access accounting"), after Alyx's
-- Download: per GT (by name) and client identity, the number of reads and
-- the first and last. Readers add their counts every few seconds. It is
-- not conditions data: no audit trigger and no generation bump, so counting
-- never invalidates a cached answer.
CREATE TABLE IF NOT EXISTS condcache_usage (
    global_tag text NOT NULL,
    client text NOT NULL,
    reads bigint NOT NULL,
    first_read timestamptz NOT NULL,
    last_read timestamptz NOT NULL,
    PRIMARY KEY (global_tag, client)
);
CREATE INDEX IF NOT EXISTS condcache_usage_last_idx ON condcache_usage (last_read DESC);
CREATE INDEX IF NOT EXISTS condcache_usage_client_idx ON condcache_usage (client, last_read DESC);
