#!/usr/bin/env bash
# Backs up NETcare's PostgreSQL database, the one DATABASE_URL names, while NETcare runs.
#
#   DATABASE_URL=postgres://netcare@db:5432/netcare scripts/backup.sh [FILE]
#
# pg_dump takes one consistent snapshot (the running web, worker and beat are not stopped) and
# writes a custom-format archive: every table with its rows, sequences, indexes, constraints and
# the audit table's append-only trigger. FILE defaults to
# var/backups/netcare-<UTC date and time>.dump. The archive holds patient data: it is created
# readable by its owner only; keep it encrypted and access-controlled like the database. The
# archive is written under a temporary name, read back with pg_restore --list and only then
# renamed, so FILE is never a half-written backup. Prints FILE.
# Needs pg_dump and pg_restore (Debian: postgresql-client) of the server's major version or newer.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/pg-env.sh"

file="${1:-$here/../var/backups/netcare-$(date -u +%Y%m%dT%H%M%SZ).dump}"
mkdir -p "$(dirname "$file")"
umask 077
partial="$file.partial"
trap 'rm -f "$partial"' EXIT
pg_dump --format=custom --no-password --file="$partial"
pg_restore --list "$partial" >/dev/null
mv "$partial" "$file"
trap - EXIT
echo "$file"
