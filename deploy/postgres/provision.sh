#!/usr/bin/env bash
# Provisions the Harbor Shop database: creates it if missing, runs the one provisioning
# file (libs/shop-db/sql/provision.sql: schemas and login roles, without passwords), then
# gives each service role its password.
#
# Used unchanged by
#   - docker-compose: mounted into /docker-entrypoint-initdb.d of the postgres container,
#     so it runs once, when the data volume is first initialised (over the local socket);
#   - Kubernetes: the db-provision Job (k8s/base/db-provision), over TCP, on every deploy.
# Idempotent: running it again changes nothing (provision.sql is idempotent, and setting a
# password to the value it already has is harmless).
#
# Connection: the standard libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSSLMODE).
# PGUSER defaults to POSTGRES_USER, then "postgres"; it must be able to create roles.
#
# Inputs:
#   SHOP_DATABASE       database to provision (default: POSTGRES_DB, then "shop")
#   PROVISION_SQL       path of provision.sql (default: /provision/provision.sql)
#   For each schema S in `schemas` below, the password of role
#   shop_S comes from the first that is set of
#     SHOP_<S>_DB_PASSWORD    the password itself (compose)
#     SHOP_<S>_DATABASE_URL   the service's own DATABASE_URL; the password is taken from it
#                             (Kubernetes: the same Secret key the service reads)
#   A role with neither keeps no password (only trust/peer authentication can log it in),
#   which is reported as a warning.
set -euo pipefail

export PGUSER="${PGUSER:-${POSTGRES_USER:-postgres}}"
database="${SHOP_DATABASE:-${POSTGRES_DB:-shop}}"
provision_sql="${PROVISION_SQL:-/provision/provision.sql}"
schemas=(users catalog orders recommendations)

log() { printf 'harbor-shop provision: %s\n' "$*" >&2; }

psql_cmd() { psql -X -v ON_ERROR_STOP=1 --no-password --quiet "$@"; }

if [[ ! -r "$provision_sql" ]]; then
    log "cannot read $provision_sql (mount libs/shop-db/sql/provision.sql there)"
    exit 1
fi

# The connection may come up a moment after the server (Kubernetes Job starting with it).
for attempt in $(seq 1 60); do
    if psql_cmd --dbname=postgres --command='SELECT 1' >/dev/null 2>&1; then
        break
    fi
    if [[ "$attempt" == 60 ]]; then
        log "server not reachable as $PGUSER after 60 attempts"
        psql_cmd --dbname=postgres --command='SELECT 1'
    fi
    sleep 2
done

log "database $database"
psql_cmd --dbname=postgres --set=db="$database" <<'SQL'
SELECT format('CREATE DATABASE %I', :'db')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db')
\gexec
SQL

log "running $(basename "$provision_sql")"
psql_cmd --dbname="$database" --file="$provision_sql"

for schema in "${schemas[@]}"; do
    upper="${schema^^}"
    role="shop_${schema}"
    password_var="SHOP_${upper}_DB_PASSWORD"
    url_var="SHOP_${upper}_DATABASE_URL"
    password="${!password_var:-}"
    if [[ -z "$password" && -n "${!url_var:-}" ]]; then
        url="${!url_var}"
        rest="${url#*://}"          # user:password@host:port/db?params
        credentials="${rest%%@*}"   # user:password
        if [[ "$credentials" == "$rest" || "$credentials" != *:* ]]; then
            log "$url_var has no user:password@ part; role $role keeps its password"
            continue
        fi
        url_user="${credentials%%:*}"
        password="${credentials#*:}"
        if [[ "$url_user" != "$role" ]]; then
            log "$url_var connects as $url_user, expected $role"
            exit 1
        fi
        if [[ "$password" == *%* ]]; then
            log "$url_var: percent-encoded passwords are not supported; use [A-Za-z0-9._~-]"
            exit 1
        fi
    fi
    if [[ -z "$password" ]]; then
        log "WARNING: no password for $role (set $password_var or $url_var)"
        continue
    fi
    psql_cmd --dbname="$database" --set=role="$role" --set=password="$password" <<'SQL'
ALTER ROLE :"role" WITH LOGIN PASSWORD :'password';
SQL
    log "password set for $role"
done

log "done"
