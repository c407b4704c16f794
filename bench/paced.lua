-- Each connection waits BENCH_PACE_MS (default 10) after an answer before it sends its
-- next request, so that 64 connections offer a steady load below what the server can
-- take: the latency a client sees when the server is busy but not the queue.
local pace = tonumber(os.getenv("BENCH_PACE_MS") or "10")

function delay()
	return pace
end
