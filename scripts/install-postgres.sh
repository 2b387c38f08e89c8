#!/usr/bin/env bash
# Installs what the PostgreSQL tier (tests/postgres) needs: PostgreSQL's
# server binaries (initdb, pg_ctl, postgres), from Debian's package
# `postgresql`, Debian's `pgbouncer` (the pooler test) and `faketime` (the
# fleet's clock tests), when they are missing and this is root with
# apt-get. (The TLS test makes its certificates with rcgen, a
# dev-dependency: no openssl needed.)
# Otherwise it only says what is missing: the tier then skips, or fails
# under CLAUDE_COMMS_REQUIRE_REAL=1 (scripts/test.sh), naming the package.
#
# The tests never use an installed cluster: each starts throw-away
# clusters of its own (tests/support/pg_cluster.rs) on free loopback ports
# with their sockets in their own folders, so a cluster the package starts
# cannot get in their way. It is stopped all the same, so that nothing of
# ours keeps running after the tests.
set -euo pipefail

# The same search as the tests': Debian's versioned folders, pg_config, PATH.
has_server_binaries() {
    local dir
    for dir in /usr/lib/postgresql/*/bin "$(pg_config --bindir 2>/dev/null || true)"; do
        if [[ -n $dir && -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]]; then
            return 0
        fi
    done
    command -v initdb >/dev/null && command -v pg_ctl >/dev/null && command -v postgres >/dev/null
}

# Stops every cluster Debian's tools know of (the package's `main`).
stop_package_clusters() {
    command -v pg_lsclusters >/dev/null || return 0
    local version name _port status _rest
    while read -r version name _port status _rest; do
        if [[ $status == online* ]]; then
            pg_ctlcluster "$version" "$name" stop ||
                echo "install-postgres: could not stop the cluster $version/$name" >&2
        fi
    done < <(pg_lsclusters --no-header 2>/dev/null || true)
}

# pgbouncer's binary lives in /usr/sbin, which may not be on PATH.
has_pgbouncer() {
    command -v pgbouncer >/dev/null || [[ -x /usr/sbin/pgbouncer ]]
}

missing=()
has_server_binaries || missing+=(postgresql)
has_pgbouncer || missing+=(pgbouncer)
# Runs a node's daemon with its wall clock shifted (the fleet's clock tests).
command -v faketime >/dev/null || missing+=(faketime)
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    echo "install-postgres: missing for the PostgreSQL tier: ${missing[*]}; install Debian's" \
        "packages (apt-get install --no-install-recommends ${missing[*]})" >&2
    exit 0
fi
echo "install-postgres: installing Debian's packages ${missing[*]} for the PostgreSQL tier" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
stop_package_clusters
# The package starts a pgbouncer of its own (port 6432); the tests start
# theirs, so the package's is stopped like the clusters.
if command -v systemctl >/dev/null && systemctl is-active --quiet pgbouncer 2>/dev/null; then
    systemctl stop pgbouncer || true
fi
if [[ -x /etc/init.d/pgbouncer ]]; then
    /etc/init.d/pgbouncer stop >/dev/null 2>&1 || true
fi
if ! has_server_binaries; then
    echo "install-postgres: the package postgresql is installed but its server binaries are not found" >&2
    exit 1
fi
if ! has_pgbouncer; then
    echo "install-postgres: the package pgbouncer is installed but /usr/sbin/pgbouncer is not found" >&2
    exit 1
fi
if ! command -v faketime >/dev/null; then
    echo "install-postgres: the package faketime is installed but \`faketime\` is not on PATH" >&2
    exit 1
fi
