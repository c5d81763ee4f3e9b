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
INTEGRATION_ADDONS=integration_base,integration_stripe,integration_crm,integration_helpdesk,integration_monitoring,integration_amqp
PY=$INTEGRATION_VENV/bin/python
ODOO_BIN=$INTEGRATION_VENV/bin/odoo
# Test peers (setup/tools-requirements.txt) live in a virtualenv of their own.
export LOCALSTRIPE_BIN=${LOCALSTRIPE_BIN:-$INTEGRATION_CACHE/tools-venv/bin/localstripe}
# setup/run's process supervisor (supervisord, PyPI) lives there too.
SUPERVISORD=$INTEGRATION_CACHE/tools-venv/bin/supervisord

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

# The node roles and the edge (setup/roles.py renders every configuration
# from these settings and the INTEGRATION_* variables README "Settings" lists).
roles() {
    INTEGRATION_CACHE=$INTEGRATION_CACHE INTEGRATION_VENV=$INTEGRATION_VENV ODOO_SOURCE=$ODOO_SOURCE \
        INTEGRATION_DB=$INTEGRATION_DB INTEGRATION_HTTP_PORT=$INTEGRATION_HTTP_PORT \
        "$PY" "$REPO_DIR/setup/roles.py" "$@"
}
