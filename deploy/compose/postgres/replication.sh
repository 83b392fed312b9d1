# Run once by the postgres image's entrypoint when it creates the primary's
# data directory: lets the replica stream (pg_basebackup, replication) with
# the same password as everyone else.
printf 'host replication all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
