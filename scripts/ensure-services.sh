#!/usr/bin/env bash
# Makes sure what the NETcare test suite talks to is installed and running on this machine:
# PostgreSQL on 127.0.0.1:5432, Redis on 127.0.0.1:6379, Debian's chromium, npm and docker-compose.
# It fails (never skips) when one of them cannot be had.
set -euo pipefail

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if [ ! -x /usr/bin/chromium ]; then
  echo "Installing Debian's chromium for the browser tests..."
  apt_install chromium fonts-dejavu-core
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "Installing Debian's nodejs and npm for the browser tests' axe-core..."
  apt_install nodejs npm
fi
if ! command -v docker-compose >/dev/null 2>&1; then
  echo "Installing docker-compose to validate docker-compose.yml..."
  apt_install docker-compose
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "Starting PostgreSQL..."
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
fi
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
pg_isready -h 127.0.0.1 -p 5432

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "Starting Redis..."
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
redis-cli -h 127.0.0.1 -p 6379 ping

psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='netcare'" | grep -q 1 \
  || createdb -h 127.0.0.1 -U postgres netcare
