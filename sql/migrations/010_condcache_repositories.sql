-- Payload repositories (docs/design.md "Payload repositories"): where copies
-- of payload files live, after Alyx's DataRepositoryType, DataRepository and
-- FileRecord. condcache's own tables, additive: nothing of the Nopayloaddb
-- schema changes, and no foreign key points into it (a TRUNCATE of
-- "PayloadIOV", as Django's flush does, keeps working).
--
-- v2 answers that resolve sites (site=) show file records and repositories,
-- and are cached under their GT like every other answer (docs/design.md
-- "Freshness contract"); so every change that can alter such an answer bumps
-- the generation of every GT whose IOVs it concerns, in the same
-- transaction, with condcache_bump (migration 004). The audit trail
-- (migration 006) captures the three tables like the five others.

-- The kinds of storage. schemes lists the URL schemes a repository of the
-- type may have as base URL (empty: any).
CREATE TABLE IF NOT EXISTS condcache_repository_type (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    schemes text[] NOT NULL DEFAULT '{}',
    description text NOT NULL DEFAULT '',
    created timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT condcache_repository_type_name_key UNIQUE (name)
);

INSERT INTO condcache_repository_type (name, schemes, description) VALUES
    ('cvmfs', '{file}', 'CernVM-FS, mounted read-only where jobs run'),
    ('posix', '{file}', 'a POSIX file system'),
    ('http', '{http,https}', 'an HTTP(S) server'),
    ('xrootd', '{root,roots,xroot,xroots}', 'an XRootD server'),
    ('s3', '{s3,https}', 'an S3 object store')
ON CONFLICT (name) DO NOTHING;

-- The storage places. site labels where a repository is (a job asks for
-- its own site's copies); preference orders a site's repositories (higher
-- first) after personal ones are put last.
CREATE TABLE IF NOT EXISTS condcache_repository (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    type_id bigint NOT NULL,
    base_url text NOT NULL,
    hostname text NOT NULL DEFAULT '',
    site text NOT NULL,
    preference bigint NOT NULL DEFAULT 0,
    personal boolean NOT NULL DEFAULT false,
    created timestamptz NOT NULL DEFAULT now(),
    updated timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT condcache_repository_name_key UNIQUE (name),
    CONSTRAINT condcache_repository_type_fkey FOREIGN KEY (type_id) REFERENCES condcache_repository_type (id)
);
CREATE INDEX IF NOT EXISTS condcache_repository_site_idx ON condcache_repository (site);
CREATE INDEX IF NOT EXISTS condcache_repository_type_idx ON condcache_repository (type_id);

-- The copies: the payload of IOV iov_id is at relative_path in repository
-- repository_id. One copy of an IOV per repository, one file per path.
-- iov_id has no foreign key (see above): the trigger below removes the
-- records of deleted IOVs instead, and the writer checks the IOV exists.
-- "exists" is false when the file was found missing or different;
-- verified and problem are what the last verification (condcache verify)
-- found.
CREATE TABLE IF NOT EXISTS condcache_file_record (
    id bigserial PRIMARY KEY,
    iov_id bigint NOT NULL,
    repository_id bigint NOT NULL,
    relative_path text NOT NULL,
    "exists" boolean NOT NULL DEFAULT true,
    verified timestamptz,
    problem text,
    created timestamptz NOT NULL DEFAULT now(),
    updated timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT condcache_file_record_path_key UNIQUE (repository_id, relative_path),
    CONSTRAINT condcache_file_record_iov_key UNIQUE (iov_id, repository_id),
    CONSTRAINT condcache_file_record_repository_fkey FOREIGN KEY (repository_id) REFERENCES condcache_repository (id)
);

-- condcache_iov_gts names the GTs whose answers hold the IOVs ids.
CREATE OR REPLACE FUNCTION condcache_iov_gts(ids bigint[]) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT g.name), '{}')
    FROM "PayloadIOV" i
    JOIN "PayloadList" l ON l.id = i.payload_list_id
    JOIN "GlobalTag" g ON g.id = l.global_tag_id
    WHERE i.id = ANY (ids)
$$;

-- A file record changes the site answers of its IOV's GTs: when it is
-- added or removed, or its IOV, repository, path or "exists" change.
-- Verification times and problems are not in answers and bump nothing.
CREATE OR REPLACE FUNCTION condcache_file_record_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM condcache_bump(condcache_iov_gts(ARRAY(SELECT iov_id FROM condcache_new)));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM condcache_bump(condcache_iov_gts(ARRAY(
            SELECT unnest(ARRAY[o.iov_id, n.iov_id])
            FROM condcache_old o JOIN condcache_new n USING (id)
            WHERE (o.iov_id, o.repository_id, o.relative_path, o."exists")
                  IS DISTINCT FROM (n.iov_id, n.repository_id, n.relative_path, n."exists"))));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM condcache_bump(condcache_iov_gts(ARRAY(SELECT iov_id FROM condcache_old)));
    ELSE
        PERFORM condcache_bump(ARRAY(SELECT name FROM "GlobalTag"));
    END IF;
    RETURN NULL;
END
$$;

-- A repository changes the site answers of the GTs of its records' IOVs
-- when its name, base URL, site, preference or personal flag change
-- (hostname and type are not in answers). A site that no repository has
-- any more makes site=NAME unknown (404) where answers were cached for
-- it: every GT is bumped then. A repository is only deleted without
-- records (foreign key), and a new one holds none yet.
CREATE OR REPLACE FUNCTION condcache_repository_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM condcache_bump(ARRAY(SELECT name FROM "GlobalTag"));
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM condcache_bump(condcache_iov_gts(ARRAY(
            SELECT f.iov_id FROM condcache_file_record f
            WHERE f.repository_id IN (
                SELECT n.id FROM condcache_old o JOIN condcache_new n USING (id)
                WHERE (o.name, o.base_url, o.site, o.preference, o.personal)
                      IS DISTINCT FROM (n.name, n.base_url, n.site, n.preference, n.personal)))));
    END IF;
    IF EXISTS (SELECT site FROM condcache_old EXCEPT SELECT site FROM condcache_repository) THEN
        PERFORM condcache_bump(ARRAY(SELECT name FROM "GlobalTag"));
    END IF;
    RETURN NULL;
END
$$;

-- Records of deleted IOVs go with them (in place of ON DELETE CASCADE).
CREATE OR REPLACE FUNCTION condcache_iov_files_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM condcache_file_record;
    ELSIF EXISTS (SELECT 1 FROM condcache_file_record) THEN
        DELETE FROM condcache_file_record WHERE iov_id IN (SELECT id FROM condcache_old);
    END IF;
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t record;
    referencing text;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('condcache_file_record', 'condcache_file_record_', 'INSERT', 'condcache_file_record_changed'),
        ('condcache_file_record', 'condcache_file_record_', 'UPDATE', 'condcache_file_record_changed'),
        ('condcache_file_record', 'condcache_file_record_', 'DELETE', 'condcache_file_record_changed'),
        ('condcache_file_record', 'condcache_file_record_', 'TRUNCATE', 'condcache_file_record_changed'),
        ('condcache_repository', 'condcache_repository_', 'UPDATE', 'condcache_repository_changed'),
        ('condcache_repository', 'condcache_repository_', 'DELETE', 'condcache_repository_changed'),
        ('condcache_repository', 'condcache_repository_', 'TRUNCATE', 'condcache_repository_changed'),
        ('PayloadIOV', 'condcache_iov_files_', 'DELETE', 'condcache_iov_files_deleted'),
        ('PayloadIOV', 'condcache_iov_files_', 'TRUNCATE', 'condcache_iov_files_deleted')
    ) AS v(tbl, prefix, event, fn) LOOP
        referencing := CASE t.event
            WHEN 'INSERT' THEN 'REFERENCING NEW TABLE AS condcache_new'
            WHEN 'UPDATE' THEN 'REFERENCING OLD TABLE AS condcache_old NEW TABLE AS condcache_new'
            WHEN 'DELETE' THEN 'REFERENCING OLD TABLE AS condcache_old'
            ELSE '' END;
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', t.prefix || lower(t.event), t.tbl);
        EXECUTE format('CREATE TRIGGER %I AFTER %s ON %I %s FOR EACH STATEMENT EXECUTE FUNCTION %I()',
            t.prefix || lower(t.event), t.event, t.tbl, referencing, t.fn);
    END LOOP;

    -- The audit trail, as migration 006 captures the five tables.
    FOR t IN SELECT tbl, event FROM
        unnest(ARRAY['condcache_repository_type', 'condcache_repository', 'condcache_file_record']) AS tbl,
        unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS event
    LOOP
        referencing := CASE t.event
            WHEN 'INSERT' THEN 'REFERENCING NEW TABLE AS condcache_new'
            WHEN 'UPDATE' THEN 'REFERENCING OLD TABLE AS condcache_old NEW TABLE AS condcache_new'
            WHEN 'DELETE' THEN 'REFERENCING OLD TABLE AS condcache_old'
            ELSE '' END;
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I',
            'condcache_audit_' || t.tbl || '_' || lower(t.event), t.tbl);
        EXECUTE format('CREATE TRIGGER %I AFTER %s ON %I %s FOR EACH STATEMENT EXECUTE FUNCTION condcache_audit_capture()',
            'condcache_audit_' || t.tbl || '_' || lower(t.event), t.event, t.tbl, referencing);
    END LOOP;
END
$$;
