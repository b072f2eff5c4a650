-- report.lua — wrk's summary as name=value lines for scripts/bench.
function done(summary, latency, requests)
	local secs = summary.duration / 1e6
	local e = summary.errors
	io.write(string.format("requests=%d\nseconds=%.3f\nrps=%.1f\n", summary.requests, secs,
		summary.requests / secs))
	io.write(string.format("p50_ms=%.3f\np99_ms=%.3f\nmax_ms=%.3f\n", latency:percentile(50) / 1000,
		latency:percentile(99) / 1000, latency.max / 1000))
	-- wrk counts answers with a status above 399 under errors.status.
	io.write(string.format("non2xx=%d\nsocket_errors=%d\n", e.status,
		e.connect + e.read + e.write + e.timeout))
end
