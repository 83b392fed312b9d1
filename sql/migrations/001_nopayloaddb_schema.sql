-- The six cdb_rest tables of Nopayloaddb, exactly as Django creates them
-- (docs/compatibility.md "Tables"; the dump sql/testdata/nopayloaddb-schema.sql): same names, columns,
-- types, bigserial-style sequences, constraint and index names, and
-- DEFERRABLE INITIALLY DEFERRED foreign keys without ON DELETE actions.
--
-- Every statement is idempotent, because this migration also runs on
-- databases that Nopayloaddb created (and may still be serving): a table
-- that exists is left alone, so its rows, its id defaults (serial or
-- identity) and its sequences are kept; a constraint or index is added only
-- when nothing equivalent is there. On such a database it changes nothing.
--
-- Table names are mixed-case and unqualified, as Django's: they resolve
-- through search_path.

-- ensure_constraint adds constraint con (definition def) to table tbl unless
-- tbl already has a constraint of that name, or one of the same kind over
-- the same columns under another name (a primary key named differently
-- still counts as the primary key). A pg_temp function dies with the
-- migration's session.
CREATE FUNCTION pg_temp.condcache_ensure_constraint(tbl text, con text, kind "char", cols text[], def text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint c
        WHERE c.conrelid = tbl::regclass
          AND (c.conname = con OR (
                c.contype = kind AND
                c.conkey::int2[] = ARRAY(
                    SELECT a.attnum FROM unnest(cols) WITH ORDINALITY AS u(name, ord)
                    JOIN pg_attribute a ON a.attrelid = tbl::regclass AND a.attname = u.name
                    ORDER BY u.ord)::int2[]))
    ) THEN
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', tbl, con, def);
    END IF;
END
$$;

-- The helpers below check the catalogs before any DDL, rather than relying
-- on IF NOT EXISTS alone, because ALTER TABLE and CREATE INDEX lock the
-- table before they find out there is nothing to do; on a live database
-- that would stall its writers for no reason.

-- ensure_column adds column col of type typ to table tbl if it is missing.
CREATE FUNCTION pg_temp.condcache_ensure_column(tbl text, col text, typ text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_attribute
        WHERE attrelid = tbl::regclass AND attname = col AND NOT attisdropped
    ) THEN
        EXECUTE format('ALTER TABLE %s ADD COLUMN %I %s', tbl, col, typ);
    END IF;
END
$$;

-- ensure_index runs ddl unless a relation named idx exists.
CREATE FUNCTION pg_temp.condcache_ensure_index(idx text, ddl text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass(quote_ident(idx)) IS NULL THEN
        EXECUTE ddl;
    END IF;
END
$$;

-- Tables. bigserial creates "<Table>_id_seq" owned by the column with the
-- nextval default, as Django 3.2 does; the primary keys and unique
-- constraints are added below so that tables that already exist get them too.
CREATE TABLE IF NOT EXISTS "GlobalTagStatus" (
    id bigserial NOT NULL,
    name character varying(80) NOT NULL,
    description character varying(255),
    created timestamp with time zone NOT NULL
);

CREATE TABLE IF NOT EXISTS "GlobalTag" (
    id bigserial NOT NULL,
    name character varying(80) NOT NULL,
    author character varying(80),
    description character varying(255),
    created timestamp with time zone NOT NULL,
    updated timestamp with time zone NOT NULL,
    status_id bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS "PayloadType" (
    id bigserial NOT NULL,
    name character varying(80) NOT NULL,
    description character varying(255),
    created timestamp with time zone NOT NULL
);

CREATE TABLE IF NOT EXISTS "PayloadListIdSequence" (
    id bigserial NOT NULL
);

-- "PayloadList".id has no default: it is always a "PayloadListIdSequence" id.
CREATE TABLE IF NOT EXISTS "PayloadList" (
    id bigint NOT NULL,
    name character varying(255) NOT NULL,
    description character varying(255),
    created timestamp with time zone NOT NULL,
    updated timestamp with time zone NOT NULL,
    global_tag_id bigint,
    payload_type_id bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS "PayloadIOV" (
    id bigserial NOT NULL,
    payload_url character varying(255) NOT NULL,
    checksum character varying(255) NOT NULL,
    size bigint,
    major_iov bigint NOT NULL,
    minor_iov bigint NOT NULL,
    major_iov_end bigint NOT NULL,
    minor_iov_end bigint NOT NULL,
    extra character varying(255),
    created timestamp with time zone NOT NULL,
    updated timestamp with time zone NOT NULL,
    comb_iov numeric(38,19),
    payload_list_id bigint
);

-- Columns that Nopayloaddb added over time (comb_iov 2023-03, size 2023-06,
-- extra 2026-03): a database last migrated by an older Nopayloaddb gets
-- them, nullable and empty, as Django's own migration would add them; the
-- reads select them.
SELECT pg_temp.condcache_ensure_column('"PayloadIOV"', 'comb_iov', 'numeric(38,19)');
SELECT pg_temp.condcache_ensure_column('"PayloadIOV"', 'size', 'bigint');
SELECT pg_temp.condcache_ensure_column('"PayloadIOV"', 'extra', 'character varying(255)');

-- Keys.
SELECT pg_temp.condcache_ensure_constraint('"GlobalTagStatus"', 'GlobalTagStatus_pkey', 'p', '{id}', 'PRIMARY KEY (id)');
SELECT pg_temp.condcache_ensure_constraint('"GlobalTagStatus"', 'GlobalTagStatus_name_key', 'u', '{name}', 'UNIQUE (name)');
SELECT pg_temp.condcache_ensure_constraint('"GlobalTag"', 'GlobalTag_pkey', 'p', '{id}', 'PRIMARY KEY (id)');
SELECT pg_temp.condcache_ensure_constraint('"GlobalTag"', 'GlobalTag_name_key', 'u', '{name}', 'UNIQUE (name)');
SELECT pg_temp.condcache_ensure_constraint('"PayloadType"', 'PayloadType_pkey', 'p', '{id}', 'PRIMARY KEY (id)');
SELECT pg_temp.condcache_ensure_constraint('"PayloadType"', 'PayloadType_name_key', 'u', '{name}', 'UNIQUE (name)');
SELECT pg_temp.condcache_ensure_constraint('"PayloadListIdSequence"', 'PayloadListIdSequence_pkey', 'p', '{id}', 'PRIMARY KEY (id)');
SELECT pg_temp.condcache_ensure_constraint('"PayloadList"', 'PayloadList_pkey', 'p', '{id}', 'PRIMARY KEY (id)');
SELECT pg_temp.condcache_ensure_constraint('"PayloadList"', 'PayloadList_name_key', 'u', '{name}', 'UNIQUE (name)');
SELECT pg_temp.condcache_ensure_constraint('"PayloadIOV"', 'PayloadIOV_pkey', 'p', '{id}', 'PRIMARY KEY (id)');

-- Foreign keys: deferred, no ON DELETE (the API deletes children itself).
SELECT pg_temp.condcache_ensure_constraint('"GlobalTag"', 'GlobalTag_status_id_7b5018a3_fk_GlobalTagStatus_id', 'f', '{status_id}',
    'FOREIGN KEY (status_id) REFERENCES "GlobalTagStatus"(id) DEFERRABLE INITIALLY DEFERRED');
SELECT pg_temp.condcache_ensure_constraint('"PayloadIOV"', 'PayloadIOV_payload_list_id_37321d74_fk_PayloadList_id', 'f', '{payload_list_id}',
    'FOREIGN KEY (payload_list_id) REFERENCES "PayloadList"(id) DEFERRABLE INITIALLY DEFERRED');
SELECT pg_temp.condcache_ensure_constraint('"PayloadList"', 'PayloadList_global_tag_id_2b35c85f_fk_GlobalTag_id', 'f', '{global_tag_id}',
    'FOREIGN KEY (global_tag_id) REFERENCES "GlobalTag"(id) DEFERRABLE INITIALLY DEFERRED');
SELECT pg_temp.condcache_ensure_constraint('"PayloadList"', 'PayloadList_payload_type_id_7d588918_fk_PayloadType_id', 'f', '{payload_type_id}',
    'FOREIGN KEY (payload_type_id) REFERENCES "PayloadType"(id) DEFERRABLE INITIALLY DEFERRED');

-- Indexes, with Django's names (the hash suffixes are deterministic).
SELECT pg_temp.condcache_ensure_index('GlobalTagStatus_name_890d06f6_like',
    'CREATE INDEX "GlobalTagStatus_name_890d06f6_like" ON "GlobalTagStatus" USING btree (name varchar_pattern_ops)');
SELECT pg_temp.condcache_ensure_index('GlobalTag_name_e1570679_like',
    'CREATE INDEX "GlobalTag_name_e1570679_like" ON "GlobalTag" USING btree (name varchar_pattern_ops)');
SELECT pg_temp.condcache_ensure_index('GlobalTag_status_id_7b5018a3',
    'CREATE INDEX "GlobalTag_status_id_7b5018a3" ON "GlobalTag" USING btree (status_id)');
SELECT pg_temp.condcache_ensure_index('PayloadIOV_payload_list_id_37321d74',
    'CREATE INDEX "PayloadIOV_payload_list_id_37321d74" ON "PayloadIOV" USING btree (payload_list_id)');
SELECT pg_temp.condcache_ensure_index('PayloadList_global_tag_id_2b35c85f',
    'CREATE INDEX "PayloadList_global_tag_id_2b35c85f" ON "PayloadList" USING btree (global_tag_id)');
SELECT pg_temp.condcache_ensure_index('PayloadList_name_63ddb548_like',
    'CREATE INDEX "PayloadList_name_63ddb548_like" ON "PayloadList" USING btree (name varchar_pattern_ops)');
SELECT pg_temp.condcache_ensure_index('PayloadList_payload_type_id_7d588918',
    'CREATE INDEX "PayloadList_payload_type_id_7d588918" ON "PayloadList" USING btree (payload_type_id)');
SELECT pg_temp.condcache_ensure_index('PayloadType_name_3fbebe58_like',
    'CREATE INDEX "PayloadType_name_3fbebe58_like" ON "PayloadType" USING btree (name varchar_pattern_ops)');
SELECT pg_temp.condcache_ensure_index('covering_idx',
    'CREATE INDEX covering_idx ON "PayloadIOV" USING btree (payload_list_id, comb_iov DESC NULLS LAST)');

DROP FUNCTION pg_temp.condcache_ensure_constraint(text, text, "char", text[], text);
DROP FUNCTION pg_temp.condcache_ensure_column(text, text, text);
DROP FUNCTION pg_temp.condcache_ensure_index(text, text);
