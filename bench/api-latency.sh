#!/usr/bin/env bash
# Loopback latency of POST /v1/auth/login, GET /v1/me and GET /v1/services/{id} (a
# reseller reading a service it sold) on SQLite and PostgreSQL, with wrk against a release
# build, and the same SQL through pgbench (bench/me.sql, bench/service.sql).
# Not part of CI. Needs wrk (apt-get install wrk) and pgbench (PostgreSQL's server
# package). Usage: bench/api-latency.sh [seconds per run, default 10]
# Runs every measurement at each count in BENCH_CONNECTIONS (default "8 64") on each of
# BENCH_BACKENDS (default "sqlite postgres"), and prints `uptime` beside each backend's
# figures: the machine is shared, so note the load. The server's own settings come from
# the environment as always (e.g. HOSTADMIN_DATABASE_POOL_SIZE=8 or HOSTADMIN_HTTP_WORKERS=1
# for a sweep). BENCH_PACE_MS (default 10) is the pause of the paced runs (bench/paced.lua).
# BENCH_POSTGRES_URL (an administrator's URL ending in the database `postgres`) says how
# the server and pgbench reach PostgreSQL: TCP by default, or its Unix socket with
# `postgres://postgres@localhost/postgres?host=/var/run/postgresql`. pgbench's lines give
# the database's own p50 and p99 beside its rate, read from its per-transaction log.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
duration=${1:-10}
connection_counts=${BENCH_CONNECTIONS:-"8 64"}
pg_admin=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export BENCH_PASSWORD=bench-password-$RANDOM-$RANDOM
export BENCH_PACE_MS=${BENCH_PACE_MS:-10}

# BENCH_BIN: an already built binary (e.g. to try the script with a debug build).
if [[ -z ${BENCH_BIN:-} ]]; then cargo build --release --quiet --bin hostadmin; fi
bin=${BENCH_BIN:-target/release/hostadmin}
work=$(mktemp -d)
server=
trap '[[ -n $server ]] && kill $server 2>/dev/null; rm -rf "$work"; psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS hostadmin_bench WITH (FORCE)" >/dev/null 2>&1 || true' EXIT

cpu_ticks() { # the server's user + system CPU so far, in clock ticks
	awk '{print $14 + $15}' "/proc/$server/stat"
}

wrk_line() { # label, then wrk args (uses the caller's $connections): prints requests/s, latency percentiles and the server's CPU per request
	local label=$1; shift
	local out before after requests
	before=$(cpu_ticks)
	out=$(wrk --latency -d "${duration}s" -t 2 -c "$connections" "$@")
	after=$(cpu_ticks)
	requests=$(awk '/requests in/ {print $1}' <<<"$out")
	printf '%-32s %10s req/s   p50 %8s   p99 %8s   server CPU %4s us/request\n' "$label" \
		"$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
		"$(awk '$1 == "50%" {print $2}' <<<"$out")" \
		"$(awk '$1 == "99%" {print $2}' <<<"$out")" \
		"$(( (after - before) * 1000000 / $(getconf CLK_TCK) / (requests > 0 ? requests : 1) ))"
	# wrk counts error answers as requests: a figure made of 401s or 404s is no figure.
	if grep -q 'Non-2xx' <<<"$out"; then echo "  ^ not all answers were 2xx: $(grep 'Non-2xx' <<<"$out")"; fi
}

api() { # method, path, token, body: the response body; fails on a non-2xx answer
	curl -fsS -X "$1" "http://127.0.0.1:18181$2" -H 'content-type: application/json' ${3:+-H "Authorization: Bearer $3"} ${4:+-d "$4"}
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
session_of() { # a login answer: the session id and account id in its access token
	python3 -c 'import json,sys,base64; t=json.load(sys.stdin)["access_token"].split(".")[1]; c=json.loads(base64.urlsafe_b64decode(t+"==")); print(c["sid"], c["sub"])' <<<"$1"
}
pgbench_line() { # label, the route it stands for, then pgbench args (uses $connections)
	# Both protocols: simple (pgbench's default: each statement parsed and planned, as the
	# issue measured it) and prepared (how the server sends a lookup: parsed once, a
	# generic plan after five executions).
	# Each transaction's latency is logged, so that the database's own p50 and p99 at this
	# many clients stand beside the API's.
	local label=$1 route=$2; shift 2
	local out mode
	for mode in simple prepared; do
		rm -f "$work"/pgbench_log*
		out=$(pgbench -n -M "$mode" -T "$duration" -c "$connections" -j 2 --log --log-prefix="$work/pgbench_log" "$@")
		printf '%-32s %10s tx/s    p50 %8s   p99 %8s   (the statements of %s)\n' "$label -M $mode" \
			"$(awk -F'= ' '/^tps/ {split($2, a, " "); print a[1]}' <<<"$out")" \
			$(cat "$work"/pgbench_log* | awk '{print $3}' | sort -n | awk '{l[NR] = $1} END {
				printf "%.2fms %.2fms", l[int(NR * 0.50) + 1] / 1000, l[int(NR * 0.99) + 1] / 1000 }') "$route"
	done
}

run_backend() { # name, database url
	local name=$1 url=$2
	local env=(HOSTADMIN_DATA_DIR="$work/$name" HOSTADMIN_DATABASE_URL="$url" HOSTADMIN_LISTEN=127.0.0.1:18181
		HOSTADMIN_JWT_SECRET=bench-jwt-secret-of-at-least-thirty-two-bytes HOSTADMIN_ENCRYPTION_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
		HOSTADMIN_REQUESTS_PER_MINUTE=100000000 HOSTADMIN_LOGIN_FAILURES_PER_ADDRESS=100000000 HOSTADMIN_LOG=warn)
	env "${env[@]}" "$bin" migrate >/dev/null
	printf '%s\n' "$BENCH_PASSWORD" | env "${env[@]}" "$bin" operator create --login bench-operator --email bench@example.test --password-stdin >/dev/null
	env "${env[@]}" "$bin" serve >"$work/$name.log" 2>&1 &
	server=$!
	for _ in $(seq 1 50); do curl -fs http://127.0.0.1:18181/healthz >/dev/null && break; sleep 0.2; done
	local login token
	login=$(curl -fs http://127.0.0.1:18181/v1/auth/login -H 'content-type: application/json' \
		-d "{\"login\":\"bench-operator\",\"password\":\"$BENCH_PASSWORD\"}")
	token=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])' <<<"$login")
	# A reseller that sells a plan to its customer: GET /v1/services/{id} is read as the reseller.
	local reseller_login reseller_token customer plan service
	api POST /v1/customers "$token" "{\"login\":\"bench-reseller\",\"password\":\"$BENCH_PASSWORD\",\"name\":\"Bench Reseller\",\"email\":\"reseller@example.test\",\"kind\":\"reseller\"}" >/dev/null
	reseller_login=$(api POST /v1/auth/login "" "{\"login\":\"bench-reseller\",\"password\":\"$BENCH_PASSWORD\"}")
	reseller_token=$(json '["access_token"]' <<<"$reseller_login")
	customer=$(api POST /v1/customers "$reseller_token" "{\"login\":\"bench-customer\",\"password\":\"$BENCH_PASSWORD\",\"name\":\"Bench Customer\",\"email\":\"customer@example.test\"}" | json '["id"]')
	plan=$(api POST /v1/plans "$reseller_token" '{"name":"Web","service_kind":"web_hosting","public":true,"quotas":{"disk_mb":10240,"mailboxes":10,"mailbox_default_mb":1024},"prices":[{"cycle":"monthly","amount_minor":499,"currency":"EUR"}]}' | json '["id"]')
	service=$(api POST /v1/services "$reseller_token" "{\"owner_id\":\"$customer\",\"plan_id\":\"$plan\",\"cycle\":\"monthly\",\"name\":\"bench\"}" | json '["id"]')
	local connections
	for connections in $connection_counts; do
		echo "== $name ($(nproc) cores, $connections connections, pool ${HOSTADMIN_DATABASE_POOL_SIZE:-default}, ${duration}s each; load:$(uptime | sed 's/.*load average://'))"
		wrk_line "GET /v1/me" -H "Authorization: Bearer $token" http://127.0.0.1:18181/v1/me
		wrk_line "GET /v1/services/{id}" -H "Authorization: Bearer $reseller_token" "http://127.0.0.1:18181/v1/services/$service"
		# The same two with each connection pausing BENCH_PACE_MS between requests: a
		# steady load below saturation, where the latency is the server's, not the queue's.
		wrk_line "GET /v1/me paced" -s bench/paced.lua -H "Authorization: Bearer $token" http://127.0.0.1:18181/v1/me
		wrk_line "GET /v1/services/{id} paced" -s bench/paced.lua -H "Authorization: Bearer $reseller_token" "http://127.0.0.1:18181/v1/services/$service"
		wrk_line "POST /v1/auth/login" -s bench/login.lua http://127.0.0.1:18181/v1/auth/login
		if [[ $name == postgres ]]; then
			local sid aid
			read -r sid aid <<<"$(session_of "$login")"
			pgbench_line "pgbench me.sql" "GET /v1/me" -f bench/me.sql -D sid="'$sid'" -D aid="'$aid'" "$url"
			read -r sid aid <<<"$(session_of "$reseller_login")"
			pgbench_line "pgbench service.sql" "GET /v1/services/{id}" -f bench/service.sql -D sid="'$sid'" -D aid="'$aid'" -D service="'$service'" "$url"
		fi
	done
	kill $server; wait $server 2>/dev/null || true; server=
}

for backend in ${BENCH_BACKENDS:-sqlite postgres}; do
	case $backend in
	sqlite) run_backend sqlite "sqlite://$work/sqlite/hostadmin.db" ;;
	postgres)
		psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS hostadmin_bench WITH (FORCE)" >/dev/null
		psql -q "$pg_admin" -c "CREATE DATABASE hostadmin_bench" >/dev/null
		# The same server, credentials and way in (TCP or a Unix socket: ?host=/var/run/postgresql) as BENCH_POSTGRES_URL.
		run_backend postgres "$(sed -E 's#/postgres(\?|$)#/hostadmin_bench\1#' <<<"$pg_admin")"
		;;
	*) echo "BENCH_BACKENDS: sqlite or postgres, not $backend" >&2; exit 2 ;;
	esac
done
