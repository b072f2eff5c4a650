-- proof.lua — wrk: GET proofs of the transparency log, each path drawn at
-- random from the file BENCH_PATHS (one request path a line), with the
-- bearer token BENCH_TOKEN.
local threads = {}
local count = 0

function setup(thread)
	thread:set("tid", count)
	count = count + 1
	table.insert(threads, thread)
end

local paths = {}

function init(args)
	for line in io.lines(os.getenv("BENCH_PATHS")) do
		paths[#paths + 1] = line
	end
	math.randomseed(os.time() * 100 + tid)
	wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
end

function request()
	return wrk.format("GET", paths[math.random(#paths)])
end

dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
