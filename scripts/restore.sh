#!/usr/bin/env bash
# Restores a backup made by scripts/backup.sh into the database DATABASE_URL names.
#
#   createdb -h db -U postgres -O netcare netcare_restored
#   DATABASE_URL=postgres://netcare@db:5432/netcare_restored scripts/restore.sh FILE [OPTION...]
#
# The database must exist and be empty (no table in the public schema): a restore never writes
# over data. Everything is restored in one transaction and the first error stops it, so the
# database ends up with all of the backup or none of it. OPTIONs go to pg_restore: --no-owner
# (and --no-privileges) when the roles of the backed-up server do not exist here; the tables then
# belong to whoever runs the restore (see README.md, Backup and restore, about the role NETcare
# runs as).
#
# Reminders that were sent after the backup was taken are pending again in the restored
# database: the script prints how many are already due, for the navigators to check before
# NETcare's worker and beat are started on it.
set -euo pipefail
if [ $# -lt 1 ] || [ ! -f "$1" ]; then
  echo "usage: DATABASE_URL=... $0 FILE [pg_restore option...]" >&2
  exit 2
fi
file="$1"
shift
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/pg-env.sh"

tables="$(psql --no-password -X -A -t -v ON_ERROR_STOP=1 \
  -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")"
if [ "$tables" != "0" ]; then
  echo "Refusing to restore: database $PGDATABASE already has $tables tables." >&2
  echo "Restore into a new, empty database (createdb) and point DATABASE_URL at it." >&2
  exit 1
fi
pg_restore --no-password --exit-on-error --single-transaction --dbname="$PGDATABASE" "$@" "$file"
psql --no-password -X -A -t -v ON_ERROR_STOP=1 <<'SQL'
SELECT 'Restored: ' || (SELECT count(*) FROM patients_patient) || ' patients, '
       || (SELECT count(*) FROM netcare_auditevent) || ' audit events, '
       || (SELECT count(*) FROM coordinators_reminder WHERE state = 'pending') || ' pending reminders ('
       || (SELECT count(*) FROM coordinators_reminder WHERE state = 'pending' AND send_at <= now())
       || ' already due: any sent after the backup was taken will be sent again).';
SQL
