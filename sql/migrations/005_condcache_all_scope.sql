-- Reads that are not about one GT (the GT, type, status, list and IOV
-- listings, lookups by id) are cached under one scope for the whole
-- database, the empty name. Any statement that changes one of the five
-- tables queues an outbox row for it, so the writer marks and publishes it
-- (and the relay delivers what others wrote) like a GT's invalidation.
--
-- Unlike a GT's bump, this takes no row lock and keeps no generation row:
-- it would serialise every write of the database, and nothing needs one.
-- Redis keeps the scope's own counter, raised by every publish (see the
-- cache package), since generations of different GTs commit out of order.

CREATE OR REPLACE FUNCTION condcache_any_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO condcache_outbox (global_tag, generation)
        VALUES ('', nextval('condcache_generation_seq'));
    PERFORM pg_notify('condcache_invalidate', '');
    RETURN NULL;
END
$$;

DO $$
DECLARE
    tbl text;
    event text;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['GlobalTag', 'GlobalTagStatus', 'PayloadType', 'PayloadList', 'PayloadIOV'] LOOP
        FOREACH event IN ARRAY ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'] LOOP
            EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I',
                'condcache_any_' || lower(tbl) || '_' || lower(event), tbl);
            EXECUTE format('CREATE TRIGGER %I AFTER %s ON %I FOR EACH STATEMENT EXECUTE FUNCTION condcache_any_changed()',
                'condcache_any_' || lower(tbl) || '_' || lower(event), event, tbl);
        END LOOP;
    END LOOP;
END
$$;
