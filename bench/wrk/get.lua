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
local head, tail

function init(args)
	for line in io.lines(os.getenv("BENCH_IDS")) do
		ids[#ids + 1] = line
	end
	math.randomseed(os.time() * 100 + tid)
	-- The request wrk.format would make, its fixed parts made once: wrk shares the
	-- daemon's two cores, and building the whole request for each one through
	-- wrk.format was a fifth of its CPU.
	local proto = wrk.format("GET", "/api/v1/specimens/X", {
		["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN") })
	local at = proto:find("/api/v1/specimens/X", 1, true)
	head = proto:sub(1, at + #"/api/v1/specimens/" - 1)
	tail = proto:sub(at + #"/api/v1/specimens/X")
end

function request()
	return head .. ids[math.random(#ids)] .. tail
end

dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
