-- get.lua — wrk: GET /api/v1/specimens/{id} for IDs drawn at random from
-- the file BENCH_IDS, with the bearer token BENCH_TOKEN.
local threads = {}
local count = 0

function setup(thread)
	thread:set("tid", count)
	count = count + 1
	table.insert(threads, thread)
end

local ids = {}

function init(args)
	for line in io.lines(os.getenv("BENCH_IDS")) do
		ids[#ids + 1] = line
	end
	math.randomseed(os.time() * 100 + tid)
	wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
end

function request()
	return wrk.format("GET", "/api/v1/specimens/" .. ids[math.random(#ids)])
end

dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
