#!/usr/bin/env bash
# Webhook delivery throughput to a local receiver, on SQLite and PostgreSQL, with a
# release build. The events are made first through the API (PATCH /v1/me, each one
# fanned out to every endpoint), with deliveries held back; then `hostadmin worker`
# alone delivers them to bench/webhook_receiver.py, which verifies every signature.
# Prints deliveries per second for 1 endpoint (one at a time, in order) and for 8
# endpoints (served at once). Not part of CI. Needs python3 and psql.
# Usage: bench/webhooks-throughput.sh [events, default 1000]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
events=${1:-1000}
pg_admin=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
password=bench-password-$RANDOM-$RANDOM
api=http://127.0.0.1:18182
receiver_port=18183

cargo build --release --quiet --bin hostadmin
bin=target/release/hostadmin
work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	rm -rf "$work"
	psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS hostadmin_bench_webhooks WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

run() { # backend name, database url, number of endpoints
	local name=$1 url=$2 endpoints=$3
	local env=(HOSTADMIN_DATA_DIR="$work/$name-$endpoints" HOSTADMIN_DATABASE_URL="$url" HOSTADMIN_LISTEN=127.0.0.1:18182
		HOSTADMIN_JWT_SECRET=bench-jwt-secret-of-at-least-thirty-two-bytes
		HOSTADMIN_ENCRYPTION_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
		HOSTADMIN_REQUESTS_PER_MINUTE=100000000 HOSTADMIN_WEBHOOK_ALLOW_HOSTS=127.0.0.1 HOSTADMIN_LOG=warn)
	env "${env[@]}" "$bin" migrate >/dev/null
	printf '%s\n' "$password" | env "${env[@]}" "$bin" operator create --login bench --email bench@example.test --password-stdin >/dev/null
	# Deliveries held back: the server's worker looks for due ones once an hour.
	env "${env[@]}" HOSTADMIN_WORKER_INTERVAL_MS=3600000 "$bin" serve >"$work/$name-serve.log" 2>&1 &
	local server=$!
	pids+=("$server")
	for _ in $(seq 1 100); do curl -fs $api/healthz >/dev/null && break; sleep 0.1; done
	local token
	token=$(curl -fs $api/v1/auth/login -H 'content-type: application/json' \
		-d "{\"login\":\"bench\",\"password\":\"$password\"}" | json '["access_token"]')
	local secrets=()
	for i in $(seq 1 "$endpoints"); do
		secrets+=("/e$i=$(curl -fs $api/v1/webhooks -H "authorization: Bearer $token" -H 'content-type: application/json' \
			-d "{\"url\":\"http://127.0.0.1:$receiver_port/e$i\",\"events\":[\"account.update\"]}" | json '["secret"]')")
	done
	python3 - "$api" "$token" "$events" <<'PY'
import http.client, json, sys, urllib.parse
api, token, events = sys.argv[1], sys.argv[2], int(sys.argv[3])
host = urllib.parse.urlparse(api)
conn = http.client.HTTPConnection(host.hostname, host.port)
for i in range(events):
    conn.request("PATCH", "/v1/me", json.dumps({"name": f"Bench {i}"}),
                 {"authorization": f"Bearer {token}", "content-type": "application/json"})
    response = conn.getresponse(); response.read()
    assert response.status == 200, response.status
PY
	kill "$server"; wait "$server" 2>/dev/null || true
	python3 bench/webhook_receiver.py $receiver_port "${secrets[@]}" &
	local receiver=$!
	pids+=("$receiver")
	sleep 0.5
	local want=$((events * endpoints)) started
	started=$(date +%s.%N)
	env "${env[@]}" HOSTADMIN_WORKER_INTERVAL_MS=100 "$bin" worker >"$work/$name-worker.log" 2>&1 &
	local worker=$!
	pids+=("$worker")
	local stats
	while true; do
		stats=$(curl -fs "http://127.0.0.1:$receiver_port/stats")
		[[ $(json '["unique"]' <<<"$stats") -ge $want ]] && break
		sleep 0.2
	done
	local ended
	ended=$(date +%s.%N)
	python3 - "$name" "$endpoints" "$want" "$started" "$ended" "$stats" <<'PY'
import json, sys
name, endpoints, want, started, ended, stats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), json.loads(sys.argv[6])
span = stats["span_seconds"]
print(f"{name:10} {endpoints} endpoint(s): {want} deliveries, {stats['verified']} verified ({stats['refused']} refused),"
      f" {want / span:7.0f}/s between the first and the last, {want / (ended - started):7.0f}/s from the worker's start")
PY
	kill "$worker" "$receiver"; wait "$worker" "$receiver" 2>/dev/null || true
}

run sqlite "sqlite://$work/sqlite-1/hostadmin.db" 1
run sqlite "sqlite://$work/sqlite-8/hostadmin.db" 8
for endpoints in 1 8; do
	psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS hostadmin_bench_webhooks WITH (FORCE)" >/dev/null
	psql -q "$pg_admin" -c "CREATE DATABASE hostadmin_bench_webhooks" >/dev/null
	run postgres "${pg_admin%/*}/hostadmin_bench_webhooks" "$endpoints"
done
