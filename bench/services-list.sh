#!/usr/bin/env bash
# Page times of GET /v1/services (keyset pagination, QUALITY.md 31) on SQLite and
# PostgreSQL, for a reseller and for one of its customers, with a small and a large
# services table, and the same SQL alone as the yardstick of what the database does
# (QUALITY.md 33): pgbench on PostgreSQL, Python's sqlite3 on SQLite.
#
# For each backend and each size: a fresh database (`hostadmin migrate`); an operator
# (CLI), a reseller, a benchmark customer of that reseller and a plan (API); then, in
# set-based SQL, BENCH_CUSTOMERS other customers of the reseller (copies of the benchmark
# customer's row and closure rows) and N services with time-ordered UUIDv7-shaped ids,
# the benchmark customer owning 1 % of them (at least 300, so that it has a first, a
# middle and a last page), the rest spread over the other customers; ANALYZE (PostgreSQL:
# VACUUM ANALYZE and a CHECKPOINT). Then every page of both lists is walked with
# limit=100 through the API's own next_cursor (checking order, count and owners; no
# cursor is ever built by hand), and the first, the middle and the last page are timed
# again with curl: the median of BENCH_REPEATS requests each, after one warm-up.
# The SQL alone: bench/services-list.sql (diesel's statement word for word) through
# `pgbench -M prepared`, one client, BENCH_PGBENCH_SECONDS each, average latency; on
# SQLite the same statement through Python's sqlite3, median of BENCH_REPEATS.
#
# Not part of CI. Needs curl, python3, psql and pgbench, and the sqlite3 CLI
# (apt-get install sqlite3). Usage:
#   bench/services-list.sh                       # 1,000 and 1,000,000 services
#   BENCH_SERVICES=100000 bench/services-list.sh # 1,000 and 100,000
#   BENCH_SIZES="1000 10000" BENCH_BACKENDS=sqlite bench/services-list.sh
# Kept in BENCH_OUT (default: a new directory under /tmp, printed at the end): the
# numbers (results.tsv) and the plans of every timed page (plans-*.txt: on PostgreSQL
# EXPLAIN ANALYZE as a custom and as a generic plan, on SQLite EXPLAIN QUERY PLAN, also
# without ANALYZE; for the reseller also a correlated-EXISTS variant, for comparison).
# BENCH_KEEP=1 keeps the SQLite databases there too, and the PostgreSQL database of the
# last run (until the next run). BENCH_WALK_SECONDS=600 stops a walk after 10 minutes:
# the pages it did not reach are reported as `unreached`. BENCH_AUTO_EXPLAIN_MS=10 has
# PostgreSQL log the plan of every statement slower than 10 ms (auto_explain, in the
# server's log): the plans the server really ran.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
sizes=${BENCH_SIZES:-"1000 ${BENCH_SERVICES:-1000000}"}
backends=${BENCH_BACKENDS:-"sqlite postgres"}
others=${BENCH_CUSTOMERS:-1000}
repeats=${BENCH_REPEATS:-21}
pgbench_seconds=${BENCH_PGBENCH_SECONDS:-5}
walk_budget=${BENCH_WALK_SECONDS:-0} # 0: walk every page however long it takes
pg_admin=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
pg_db=hostadmin_bench_services
limit=100
out=${BENCH_OUT:-$(mktemp -d /tmp/services-list.XXXXXX)}
mkdir -p "$out"
export BENCH_PASSWORD=bench-password-$RANDOM-$RANDOM

for tool in curl python3 sqlite3 psql pgbench; do
	command -v "$tool" >/dev/null || { echo "services-list.sh: $tool is missing" >&2; exit 1; }
done

# BENCH_BIN: an already built binary (as in bench/api-latency.sh).
if [[ -z ${BENCH_BIN:-} ]]; then cargo build --release --quiet --bin hostadmin; fi
bin=${BENCH_BIN:-target/release/hostadmin}
work=$(mktemp -d)
server=
drop_pg() { psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; }
trap '[[ -n $server ]] && kill $server 2>/dev/null; rm -rf "$work"; [[ -n ${BENCH_KEEP:-} ]] || drop_pg' EXIT

port=18183
base=http://127.0.0.1:$port

# The walker: follows next_cursor from the first page to the last over one keep-alive
# connection, checks that the ids fall strictly and that the count and the owners are
# right, and prints the cursor and the keyset bound of the first, middle and last page.
cat >"$work/walk.py" <<'PY'
import http.client, json, statistics, sys, time
port, token, limit, expected, only_owner, budget = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], float(sys.argv[6])
conn = http.client.HTTPConnection("127.0.0.1", int(port))
pages, cursor, before, rows, walk_started = [], None, None, 0, time.perf_counter()
while True:
    if pages and budget and time.perf_counter() - walk_started > budget:
        break  # out of time: the pages not reached are reported as such
    path = f"/v1/services?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
    started = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        sys.exit(f"walk: {path}: {response.status} {body[:300]!r}")
    page = json.loads(body)
    ids = [service["id"] for service in page["data"]]
    if ids != sorted(ids, reverse=True) or len(set(ids)) != len(ids) or (before is not None and ids and ids[0] >= before):
        sys.exit(f"walk: page {len(pages) + 1} is out of order")
    if only_owner != "-" and any(service["owner_id"] != only_owner for service in page["data"]):
        sys.exit(f"walk: page {len(pages) + 1} holds another owner's service")
    pages.append((cursor or "-", before or "-", elapsed, len(ids)))
    rows += len(ids)
    cursor = page["next_cursor"]
    if cursor is None:
        break
    before = ids[-1]
complete = cursor is None
if complete and rows != expected:
    sys.exit(f"walk: {rows} rows, expected {expected}")
times = sorted(p[2] for p in pages)
print("pages", len(pages) if complete else f"{len(pages)}-of-{-(-expected // limit)}")
print("walk", f"{statistics.median(times) * 1000:.2f}", f"{times[int(len(times) * 0.99)] * 1000:.2f}", f"{times[-1] * 1000:.2f}")
total = len(pages) if complete else -(-expected // limit)
for name, index in (("first", 0), ("middle", (total + 1) // 2 - 1), ("last", total - 1)):
    if index < len(pages):
        print(name, index + 1, pages[index][0], pages[index][1], pages[index][3])
    else:
        print(name, index + 1, "unreached", "-", 0)
PY

# The same SQL on SQLite through Python's sqlite3 (the yardstick pgbench is on PostgreSQL):
# the median of `repeats` runs of the page query, and its plan. For the reseller it also
# records, for comparison only, the plan and time of the former `owner_id IN (subtree)` form.
cat >"$work/sqlite_sql.py" <<'PY'
import sqlite3, statistics, sys, time
path, role, owner, before, repeats, plan_file = sys.argv[1:7]
columns = ", ".join(f'"services"."{c}"' for c in (
    "id number owner_id plan_id name kind status cycle addons quotas registered_at next_due_at "
    "recurring_amount_minor currency auto_renew cancellation suspension_reason allow_overselling version "
    "created_at updated_at").split())
if role == "reseller":
    reaches = {
        "served": 'EXISTS (SELECT 1 FROM "account_tree" WHERE "account_tree"."ancestor_id" = ? '
                  'AND "account_tree"."descendant_id" = "services"."owner_id")',
        "the former IN form, for comparison": '"services"."owner_id" IN (SELECT "account_tree"."descendant_id" '
                                              'FROM "account_tree" WHERE ("account_tree"."ancestor_id" = ?))',
    }
else:
    reaches = {"served": '"services"."owner_id" = ?'}
db = sqlite3.connect(path)
result = None
for label, reach in reaches.items():
    params, where = [owner], f"({reach})"
    if before != "-":
        where = f'({where} AND ("services"."id" < ?))'
        params.append(before)
    sql = f'SELECT {columns} FROM "services" WHERE {where} ORDER BY "services"."id" DESC LIMIT ?'
    params.append(101)
    times = []
    for _ in range(int(repeats) + 1):
        started = time.perf_counter()
        db.execute(sql, params).fetchall()
        times.append(time.perf_counter() - started)
    median = statistics.median(times[1:]) * 1000
    with open(plan_file, "a") as plans:
        page = "first page" if before == "-" else "before " + before
        plans.write(f"-- {role}, {page}, {label}: {median:.2f} ms (SQLite {sqlite3.sqlite_version})\n{sql}\n")
        for row in db.execute("EXPLAIN QUERY PLAN " + sql, params):
            plans.write(f"  {row[3]}\n")
    result = median if result is None else result
print(f"{result:.2f}")
PY

# SQL fragments that differ between the two dialects.
hex_pg() { echo "lpad(to_hex($1), $2, '0')"; }
uuid_sql() { # dialect, timestamp (ms) expression, seed expression: a UUIDv7-shaped, time-ordered id
	local d=$1 ts=$2 i=$3
	local a="($ts) / 65536" b="($ts) % 65536" c="(($i) * 2654435761) % 4096" v="32768 + (($i) * 40503) % 16384" \
		e="(($i) * 1103515245 + 12345) % 281474976710656"
	if [[ $d == sqlite ]]; then
		echo "printf('%08x-%04x-7%03x-%04x-%012x', $a, $b, $c, $v, $e)"
	else
		echo "$(hex_pg "$a" 8) || '-' || $(hex_pg "$b" 4) || '-7' || $(hex_pg "$c" 3) || '-' || to_hex($v) || '-' || $(hex_pg "$e" 12)"
	fi
}
at_sql() { # dialect, timestamp (ms) expression: a TIMESTAMP as diesel stores it
	if [[ $1 == sqlite ]]; then
		echo "strftime('%Y-%m-%d %H:%M:%f', ($2) / 1000.0, 'unixepoch') || '000'"
	else
		echo "(to_timestamp(($2) / 1000.0) AT TIME ZONE 'UTC')"
	fi
}

# Other customers of the reseller, a copy of the benchmark customer's row and of its
# closure rows (what accounts::insert writes), then the services, all set-based.
seed_sql() { # dialect, services, customer id, customer's share, plan id
	local d=$1 n=$2 customer=$3 share=$4 plan=$5
	local now_ms span step i_ts other_id due
	now_ms=$(date +%s%3N)
	span=$((3 * 365 * 86400000)) # the services were sold over the last three years
	# and fall due over the next 28 days: none is due while the benchmark runs, so the
	# server's background worker (due services every 5 s) finds nothing to do.
	step=$((span / n))
	if [[ $d == sqlite ]]; then
		series() { echo "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $1) SELECT i FROM s) AS g"; }
		due="strftime('%Y-%m-%d %H:%M:%f', 'now', '+' || (g.i % 28 + 1) || ' days') || '000'"
	else
		series() { echo "generate_series(1::bigint, $1) AS g(i)"; }
		due="(now() AT TIME ZONE 'UTC') + make_interval(days => (g.i % 28 + 1)::int)"
	fi
	i_ts="$((now_ms - span)) + (g.i - 1) * $step"
	# Other customer k (0 .. others - 1) has the id made from timestamp base + k s and seed k + 7.
	other_id=$(uuid_sql "$d" "$((now_ms - span - 10000000)) + (g.i % $others) * 1000" "g.i % $others + 7")
	cat <<SQL
BEGIN;
INSERT INTO accounts (id, kind, parent_id, login, email, email_normalized, pending_email, name, name_lower, status,
    email_verified, fraud, two_factor_enabled, profile, password_hash, token_version, version, created_at, updated_at)
SELECT $(uuid_sql "$d" "$((now_ms - span - 10000000)) + (g.i - 1) * 1000" "(g.i - 1) + 7"), c.kind, c.parent_id,
    'other-' || g.i, 'other-' || g.i || '@example.test', 'other-' || g.i || '@example.test', NULL,
    'Other customer ' || g.i, 'other customer ' || g.i, c.status, c.email_verified, c.fraud, c.two_factor_enabled,
    c.profile, c.password_hash, 0, 1, c.created_at, c.updated_at
FROM accounts AS c, $(series "$others") WHERE c.id = '$customer';
INSERT INTO account_tree (ancestor_id, descendant_id, depth)
SELECT id, id, 0 FROM accounts WHERE login LIKE 'other-%';
INSERT INTO account_tree (ancestor_id, descendant_id, depth)
SELECT t.ancestor_id, a.id, t.depth + 1 FROM accounts AS a JOIN account_tree AS t ON t.descendant_id = a.parent_id
WHERE a.login LIKE 'other-%';
INSERT INTO services (id, number, owner_id, plan_id, name, name_lower, kind, status, cycle, addons, quotas,
    registered_at, next_due_at, recurring_amount_minor, currency, auto_renew, cancellation, suspension_reason,
    allow_overselling, password_hash, version, created_at, updated_at)
SELECT $(uuid_sql "$d" "$i_ts" "g.i"), 1000 + g.i,
    CASE WHEN (g.i * $share) % $n < $share THEN '$customer' ELSE $other_id END,
    p.id, 'site-' || g.i, 'site-' || g.i, p.service_kind, 'active', 'monthly', '[]', p.quotas,
    $(at_sql "$d" "$i_ts"), $due, 499, 'EUR', $( [[ $d == sqlite ]] && echo 1 || echo true), NULL, NULL,
    $( [[ $d == sqlite ]] && echo 0 || echo false), NULL, 1, $(at_sql "$d" "$i_ts"), $(at_sql "$d" "$i_ts")
FROM plans AS p, $(series "$n") WHERE p.id = '$plan';
UPDATE counters SET value = 1000 + $n WHERE name = 'service_number';
COMMIT;
SQL
}

api() { # method, path, token, body: the response body; fails on a non-2xx answer
	curl -fsS -X "$1" "$base$2" -H 'content-type: application/json' ${3:+-H "Authorization: Bearer $3"} ${4:+-d "$4"}
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
token_of() { api POST /v1/auth/login "" "{\"login\":\"$1\",\"password\":\"$BENCH_PASSWORD\"}" | json '["access_token"]'; }

median_curl() { # token, url: the median time_total (ms) of `repeats` requests after one warm-up
	local times code
	times=$(for _ in $(seq 0 "$repeats"); do
		curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $1" "$2"
	done)
	while read -r code _; do
		[[ $code == 200 ]] || { echo "services-list.sh: $2 answered $code" >&2; exit 1; }
	done <<<"$times"
	tail -n +2 <<<"$times" | awk '{print $2 * 1000}' | sort -n | awk '{a[NR] = $1} END {printf "%.2f", a[int((NR + 1) / 2)]}'
}

pgbench_ms() { # url, reseller (0/1), owner, before ("-" for the first page): average latency (ms) of one client
	local paged=1 before=$4 result
	[[ $before == - ]] && { paged=0; before=$3; }
	result=$(pgbench -n -M prepared -c 1 -j 1 -T "$pgbench_seconds" -f bench/services-list.sql \
		-D reseller="$2" -D paged="$paged" -D owner="$3" -D before="$before" -D fetch=101 "$1")
	awk -F'= ' '/^latency average/ {split($2, a, " "); printf "%.2f", a[1]}' <<<"$result"
}

pg_sql() { # role, paged (0/1): the statement of bench/services-list.sql, with $1.. for its variables
	local n
	case $1$2 in reseller1) n=1 ;; reseller0) n=2 ;; customer1) n=3 ;; customer0) n=4 ;; esac
	# shellcheck disable=SC2016 # $1.. are PostgreSQL's parameters, not the shell's
	grep '^SELECT' bench/services-list.sql | sed -n "${n}p" | sed -e 's/:owner/$1/' -e 's/:before/$2/' \
		-e "s/:fetch/\$$((2 + $2))/" -e 's/;$//'
}

explain_pg() { # url, role, owner, before: EXPLAIN ANALYZE of the page query, as a custom and as a generic plan
	local paged=1 args="'$3', '$4'" types="text, text" sql candidate
	[[ $4 == - ]] && { paged=0; args="'$3'"; types="text"; }
	sql=$(pg_sql "$2" "$paged")
	echo "-- $2, $([[ $4 == - ]] && echo "first page" || echo "before $4")"
	echo "$sql"
	# For comparison only, not what the server runs: the reseller's reach as a correlated EXISTS.
	candidate=${sql/"services"."owner_id" = ANY(SELECT "account_tree"."descendant_id" FROM "account_tree" WHERE ("account_tree"."ancestor_id" = \$1))/EXISTS (SELECT 1 FROM "account_tree" WHERE "account_tree"."ancestor_id" = \$1 AND "account_tree"."descendant_id" = "services"."owner_id")}
	psql -q "$1" <<SQL
PREPARE page($types, bigint) AS $sql;
SET plan_cache_mode = force_custom_plan;
EXPLAIN (ANALYZE, BUFFERS) EXECUTE page($args, 101);
\echo -- the generic plan (what a prepared statement may switch to after five executions):
SET plan_cache_mode = force_generic_plan;
EXPLAIN (ANALYZE, BUFFERS) EXECUTE page($args, 101);
SQL
	if [[ $2 == reseller ]]; then
		echo "-- candidate (not what the server runs): the reach as a correlated EXISTS, custom then generic plan"
		psql -q "$1" <<SQL
PREPARE candidate($types, bigint) AS $candidate;
SET plan_cache_mode = force_custom_plan;
EXPLAIN (ANALYZE, BUFFERS) EXECUTE candidate($args, 101);
SET plan_cache_mode = force_generic_plan;
EXPLAIN (ANALYZE, BUFFERS) EXECUTE candidate($args, 101);
SQL
	fi
}

results=$out/results.tsv
printf 'backend\tservices\trole\trows\tpages\tfirst ms\tmiddle ms\tlast ms\twalk p50 ms\twalk p99 ms\twalk max ms\tSQL first ms\tSQL middle ms\tSQL last ms\n' >"$results"

run() { # backend, services
	local name=$1 n=$2
	local share=$((n / 100 / limit * limit))
	((share >= 300)) || share=300
	local url dir=$work/$name-$n
	mkdir -p "$dir"
	if [[ $name == sqlite ]]; then
		url="sqlite://$dir/hostadmin.db"
	else
		drop_pg
		psql -q "$pg_admin" -c "CREATE DATABASE $pg_db" >/dev/null
		if [[ -n ${BENCH_AUTO_EXPLAIN_MS:-} ]]; then # log the plan of every statement the server runs that takes longer
			psql -q "$pg_admin" -c "ALTER DATABASE $pg_db SET session_preload_libraries = 'auto_explain'" \
				-c "ALTER DATABASE $pg_db SET auto_explain.log_min_duration = '${BENCH_AUTO_EXPLAIN_MS}ms'" >/dev/null
		fi
		url="${pg_admin%/*}/$pg_db"
	fi
	local env=(HOSTADMIN_DATA_DIR="$dir" HOSTADMIN_DATABASE_URL="$url" HOSTADMIN_LISTEN="127.0.0.1:$port"
		HOSTADMIN_JWT_SECRET=bench-jwt-secret-of-at-least-thirty-two-bytes HOSTADMIN_ENCRYPTION_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
		HOSTADMIN_REQUESTS_PER_MINUTE=100000000 HOSTADMIN_LOGIN_FAILURES_PER_ADDRESS=100000000
		HOSTADMIN_ACCESS_TOKEN_TTL_SECONDS=86400 HOSTADMIN_LOG=warn)
	start() {
		env "${env[@]}" "$bin" serve >>"$dir/server.log" 2>&1 &
		server=$!
		for _ in $(seq 1 100); do curl -fs "$base/healthz" >/dev/null && return; sleep 0.1; done
		echo "services-list.sh: the server did not start" >&2; cat "$dir/server.log" >&2; exit 1
	}
	stop() { kill "$server"; wait "$server" 2>/dev/null || true; server=; }

	env "${env[@]}" "$bin" migrate >/dev/null
	printf '%s\n' "$BENCH_PASSWORD" | env "${env[@]}" "$bin" operator create --login bench-operator --email bench@example.test --password-stdin >/dev/null
	start
	local operator reseller customer plan reseller_token customer_token
	operator=$(token_of bench-operator)
	reseller=$(api POST /v1/customers "$operator" "{\"login\":\"bench-reseller\",\"password\":\"$BENCH_PASSWORD\",\"name\":\"Bench Reseller\",\"email\":\"reseller@example.test\",\"kind\":\"reseller\"}" | json '["id"]')
	reseller_token=$(token_of bench-reseller)
	customer=$(api POST /v1/customers "$reseller_token" "{\"login\":\"bench-customer\",\"password\":\"$BENCH_PASSWORD\",\"name\":\"Bench Customer\",\"email\":\"customer@example.test\"}" | json '["id"]')
	customer_token=$(token_of bench-customer)
	plan=$(api POST /v1/plans "$reseller_token" '{"name":"Web","service_kind":"web_hosting","public":true,"quotas":{"disk_mb":10240,"mailboxes":10,"mailbox_default_mb":1024},"prices":[{"cycle":"monthly","amount_minor":499,"currency":"EUR"}]}' | json '["id"]')
	stop

	local seeded=$SECONDS
	seed_sql "$name" "$n" "$customer" "$share" "$plan" >"$dir/seed.sql"
	if [[ $name == sqlite ]]; then
		sqlite3 -bail "$dir/hostadmin.db" <"$dir/seed.sql"
		sqlite3 "$dir/hostadmin.db" "ANALYZE"
	else
		psql -q -v ON_ERROR_STOP=1 "$url" -f "$dir/seed.sql"
		psql -q "$url" -c "VACUUM ANALYZE" -c "CHECKPOINT"
	fi
	echo "== $name, $n services ($share of them the customer's, $others other customers): seeded in $((SECONDS - seeded)) s" >&2
	start

	local role token owner expected only walked pages walk
	local plans=$out/plans-$name-$n.txt
	: >"$plans"
	for role in reseller customer; do
		if [[ $role == reseller ]]; then token=$reseller_token owner=$reseller expected=$n only=-; else token=$customer_token owner=$customer expected=$share only=$customer; fi
		local walked_at=$SECONDS
		walked=$(python3 "$work/walk.py" "$port" "$token" "$limit" "$expected" "$only" "$walk_budget")
		pages=$(awk '$1 == "pages" {print $2}' <<<"$walked")
		walk=$(awk '$1 == "walk" {print $2 "\t" $3 "\t" $4}' <<<"$walked")
		echo "   $role: walked $pages pages in $((SECONDS - walked_at)) s" >&2
		local page cursor before timed=() sql=()
		for page in first middle last; do
			read -r _ _ cursor before _ < <(awk -v p=$page '$1 == p' <<<"$walked")
			if [[ $cursor == unreached ]]; then timed+=(unreached); sql+=(-); continue; fi
			local path="/v1/services?limit=$limit"
			[[ $cursor == - ]] || path="$path&cursor=$cursor"
			timed+=("$(median_curl "$token" "$base$path")")
			if [[ $name == sqlite ]]; then
				sql+=("$(python3 "$work/sqlite_sql.py" "$dir/hostadmin.db" "$role" "$owner" "$before" "$repeats" "$plans")")
			else
				explain_pg "$url" "$role" "$owner" "$before" >>"$plans" 2>&1
				sql+=("$(pgbench_ms "$url" "$([[ $role == reseller ]] && echo 1 || echo 0)" "$owner" "$before")")
			fi
		done
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$n" "$role" "$expected" "$pages" \
			"${timed[0]}" "${timed[1]}" "${timed[2]}" "$walk" "${sql[0]}" "${sql[1]}" "${sql[2]}" | tee -a "$results" >&2
	done
	stop
	if [[ $name == sqlite ]]; then
		{ echo "-- without ANALYZE (sqlite_stat1 dropped), as a database the server never analyzed:"; } >>"$plans"
		sqlite3 "$dir/hostadmin.db" "DROP TABLE sqlite_stat1"
		python3 "$work/sqlite_sql.py" "$dir/hostadmin.db" reseller "$reseller" - 1 "$plans" >/dev/null
		python3 "$work/sqlite_sql.py" "$dir/hostadmin.db" customer "$customer" - 1 "$plans" >/dev/null
	fi
	if [[ -n ${BENCH_KEEP:-} && $name == sqlite ]]; then
		sqlite3 "$dir/hostadmin.db" "ANALYZE"
		mv "$dir/hostadmin.db" "$out/sqlite-$n.db"
	fi
	rm -rf "$dir"
}

for name in $backends; do
	for n in $sizes; do run "$name" "$n"; done
done

echo
echo "GET /v1/services?limit=100, median of $repeats curl requests per page ($(nproc) cores); SQL: the same query alone"
echo "(pgbench -M prepared, 1 client, ${pgbench_seconds} s: average latency; SQLite: Python sqlite3, median of $repeats)."
column -t -s $'\t' "$results"
echo
echo "Plans and raw numbers: $out"
