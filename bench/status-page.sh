#!/usr/bin/env bash
# The public status summary under load: GET /v1/status against GET /healthz, 64
# connections, wrk against a release build, on SQLite and on PostgreSQL. The page holds
# 12 components, 2 unresolved incidents and a planned maintenance, so the summary is not
# trivial; it is rendered once and shared for 5 seconds, so what is measured is the
# shared answer (and a refresh every 5 s), as a busy public page would see it.
# Not part of CI. Needs wrk (apt-get install wrk).
# Usage: bench/status-page.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
duration=${1:-10}
connections=${BENCH_CONNECTIONS:-64}
pg_admin=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export BENCH_PASSWORD=bench-password-$RANDOM-$RANDOM
base=http://127.0.0.1:18182

cargo build --release --quiet --bin hostadmin
bin=target/release/hostadmin
work=$(mktemp -d)
server=
trap '[[ -n $server ]] && kill $server 2>/dev/null; rm -rf "$work"; psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS hostadmin_bench_status WITH (FORCE)" >/dev/null 2>&1 || true' EXIT

rate() { # label, url, then extra wrk args: prints requests/s and latency percentiles
	local label=$1 url=$2; shift 2
	local out
	out=$(wrk --latency -d "${duration}s" -t 2 -c "$connections" "$@" "$url")
	local rps
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	printf '%-34s %10s req/s   p50 %8s   p99 %8s\n' "$label" "$rps" \
		"$(awk '$1 == "50%" {print $2}' <<<"$out")" "$(awk '$1 == "99%" {print $2}' <<<"$out")" >&2
	echo "$rps"
}

post() { # token, path, json: the created id
	curl -fs "$base$2" -H "Authorization: Bearer $1" -H 'content-type: application/json' -d "$3" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}

run_backend() { # name, database url
	local name=$1 url=$2
	local env=(HOSTADMIN_DATA_DIR="$work/$name" HOSTADMIN_DATABASE_URL="$url" HOSTADMIN_LISTEN=127.0.0.1:18182
		HOSTADMIN_JWT_SECRET=bench-jwt-secret-of-at-least-thirty-two-bytes HOSTADMIN_ENCRYPTION_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
		HOSTADMIN_REQUESTS_PER_MINUTE=100000000 HOSTADMIN_LOG=warn)
	env "${env[@]}" "$bin" migrate >/dev/null
	printf '%s\n' "$BENCH_PASSWORD" | env "${env[@]}" "$bin" operator create --login bench-operator --email bench@example.test --password-stdin >/dev/null
	env "${env[@]}" "$bin" serve >"$work/$name.log" 2>&1 &
	server=$!
	for _ in $(seq 1 50); do curl -fs $base/healthz >/dev/null && break; sleep 0.2; done
	local token
	token=$(curl -fs $base/v1/auth/login -H 'content-type: application/json' \
		-d "{\"login\":\"bench-operator\",\"password\":\"$BENCH_PASSWORD\"}" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
	local ids=()
	for i in $(seq 1 12); do
		ids+=("$(post "$token" /v1/status/components "{\"name\":\"Component $i\",\"group\":\"Group $((i % 3))\",\"status\":\"operational\"}")")
	done
	post "$token" /v1/status/incidents "{\"kind\":\"outage\",\"title\":\"Web down\",\"body\":\"Investigating.\",\"component_ids\":[\"${ids[0]}\",\"${ids[1]}\"],\"impact\":\"major_outage\"}" >/dev/null
	post "$token" /v1/status/incidents "{\"kind\":\"fault\",\"title\":\"Mail slow\",\"body\":\"Queues are long.\",\"component_ids\":[\"${ids[2]}\"],\"impact\":\"degraded\"}" >/dev/null
	local start end
	start=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
	end=$(date -u -d '+1 day +1 hour' +%Y-%m-%dT%H:%M:%SZ)
	post "$token" /v1/status/incidents "{\"kind\":\"maintenance\",\"title\":\"Upgrade\",\"body\":\"\",\"component_ids\":[\"${ids[3]}\"],\"impact\":\"maintenance\",\"scheduled_start\":\"$start\",\"scheduled_end\":\"$end\"}" >/dev/null
	local size etag
	size=$(curl -fs $base/v1/status | wc -c)
	etag=$(curl -fs -D - -o /dev/null $base/v1/status | awk -F': ' 'tolower($1) == "etag" {print $2}' | tr -d '\r')
	echo "== $name ($(nproc) cores, $connections connections, ${duration}s each; summary $size bytes)" >&2
	local health status conditional
	health=$(rate "GET /healthz" $base/healthz)
	status=$(rate "GET /v1/status" $base/v1/status)
	conditional=$(rate "GET /v1/status (If-None-Match: 304)" $base/v1/status -H "If-None-Match: $etag")
	python3 -c "import sys; h, s, c = map(float, sys.argv[1:]); print(f'/v1/status at {s / h:.0%} of /healthz ({c / h:.0%} with If-None-Match); the bar is 50%')" \
		"$health" "$status" "$conditional" >&2
	kill $server; wait $server 2>/dev/null || true; server=
}

run_backend sqlite "sqlite://$work/sqlite/hostadmin.db"
psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS hostadmin_bench_status WITH (FORCE)" >/dev/null
psql -q "$pg_admin" -c "CREATE DATABASE hostadmin_bench_status" >/dev/null
run_backend postgres "${pg_admin%/*}/hostadmin_bench_status"
