# Sourced by backup.sh and restore.sh: DATABASE_URL (as NETcare reads it) to libpq's variables,
# so that no password appears on a command line (ps) or in the output.
: "${DATABASE_URL:?DATABASE_URL must name the PostgreSQL database NETcare uses}"
pg_env="$(python3 - <<'PY'
import os, shlex
from urllib.parse import parse_qsl, unquote, urlsplit

url = urlsplit(os.environ["DATABASE_URL"])
if url.scheme not in ("postgres", "postgresql", "pgsql", "postgis"):
    raise SystemExit(f"DATABASE_URL is not a PostgreSQL URL (scheme {url.scheme!r})")
found = {"PGHOST": url.hostname or "", "PGPORT": str(url.port or ""),
         "PGUSER": unquote(url.username or ""), "PGPASSWORD": unquote(url.password or ""),
         "PGDATABASE": unquote(url.path.lstrip("/"))}
libpq = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
         "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT"}
for name, value in parse_qsl(url.query):
    if name in libpq:
        found[libpq[name]] = value
for name, value in found.items():
    if value:
        print(f"export {name}={shlex.quote(value)}")
PY
)"
eval "$pg_env"
if [ -z "${PGDATABASE:-}" ]; then
  echo "DATABASE_URL names no database" >&2
  exit 2
fi
