-- wrk script: POST /v1/auth/login with the benchmark operator's credentials.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"login":"bench-operator","password":"' .. os.getenv("BENCH_PASSWORD") .. '"}'
