# shellcheck shell=bash
# Shared settings of the setup commands. Every value can be overridden from
# the environment; README.md lists them.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INTEGRATION_CACHE=${INTEGRATION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/odoo-integration}
INTEGRATION_VENV=${INTEGRATION_VENV:-$INTEGRATION_CACHE/venv}
# Where Odoo 19.0 Community source lives. When unset, install downloads the
# official nightly source archive into the cache.
ODOO_SOURCE_SET=${ODOO_SOURCE:+1}
ODOO_SOURCE=${ODOO_SOURCE:-$INTEGRATION_CACHE/odoo-19.0}
ODOO_NIGHTLY_URL=${ODOO_NIGHTLY_URL:-https://nightly.odoo.com/19.0/nightly/src/odoo_19.0.latest.tar.gz}
INTEGRATION_DB=${INTEGRATION_DB:-integration}
INTEGRATION_HTTP_PORT=${INTEGRATION_HTTP_PORT:-8069}
INTEGRATION_GEVENT_PORT=${INTEGRATION_GEVENT_PORT:-8072}
INTEGRATION_WORKERS=${INTEGRATION_WORKERS:-2}
INTEGRATION_ADDONS=integration_base,integration_stripe,integration_crm,integration_helpdesk,integration_monitoring,integration_amqp
PY=$INTEGRATION_VENV/bin/python
ODOO_BIN=$INTEGRATION_VENV/bin/odoo
# Test peers (setup/tools-requirements.txt) live in a virtualenv of their own.
export LOCALSTRIPE_BIN=${LOCALSTRIPE_BIN:-$INTEGRATION_CACHE/tools-venv/bin/localstripe}

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }

# PostgreSQL connection: PG* variables win, then 127.0.0.1:5432 as the user.
export PGHOST=${PGHOST:-127.0.0.1}
export PGPORT=${PGPORT:-5432}
export PGUSER=${PGUSER:-$(id -un)}
[ "$PGUSER" != postgres ] || die "Odoo refuses to run as the PostgreSQL role 'postgres': set PGUSER to another role"

# The addons path: Odoo's own addons, then this repository (queue_job comes
# from site-packages and joins the odoo.addons namespace by itself).
addons_path() {
    printf '%s/odoo/addons,%s' "$ODOO_SOURCE" "$REPO_DIR"
}

# An install remembers which source tree it used, so later commands (and CI,
# which does not see the variable) find it again.
if [ -z "$ODOO_SOURCE_SET" ] && [ -f "$INTEGRATION_CACHE/odoo-source" ]; then
    ODOO_SOURCE=$(cat "$INTEGRATION_CACHE/odoo-source")
fi

# Is a PostgreSQL server answering with the current PG* settings?
pg_ready() {
    "$PY" - <<'PY' 2>/dev/null
import psycopg2, sys
try:
    psycopg2.connect(dbname="postgres", connect_timeout=3).close()
except psycopg2.OperationalError as exc:
    sys.exit(1 if "does not exist" not in str(exc) else 0)
PY
}

# Write the Odoo configuration file used by run and test.
write_config() { # $1: file, $2: database, $3: http port
    cat >"$1" <<CONF
[options]
addons_path = $(addons_path)
data_dir = $INTEGRATION_CACHE/data
db_host = $PGHOST
db_port = $PGPORT
db_user = $PGUSER
db_name = $2
dbfilter = ^$2\$
list_db = False
http_port = $3
http_interface = ${INTEGRATION_HTTP_INTERFACE:-127.0.0.1}
gevent_port = $INTEGRATION_GEVENT_PORT
server_wide_modules = base,web,queue_job,integration_amqp
workers = $INTEGRATION_WORKERS
max_cron_threads = 1
limit_time_cpu = 600
limit_time_real = 1200
admin_passwd = ${INTEGRATION_MASTER_PASSWORD:-admin}

[queue_job]
channels = root:${INTEGRATION_JOB_CAPACITY:-2},root.integration:${INTEGRATION_JOB_CAPACITY:-2}
CONF
}
