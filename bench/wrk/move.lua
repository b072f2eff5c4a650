-- move.lua — wrk: POST /api/v1/specimens/{id}/move. Thread t owns the
-- bench_moves clients c with c % threads == t (file BENCH_MOVES: client,
-- slot, id, box_a, box_b, position) and walks its tubes in order, moving
-- each to its twin box and, a round later, back: a tube's next move comes
-- hundreds of requests after its last, so moves do not collide.
local threads = {}
local count = 0

function setup(thread)
	thread:set("tid", count)
	count = count + 1
	table.insert(threads, thread)
end

local tubes = {}
local k = 0

function init(args)
	local nthreads = tonumber(os.getenv("BENCH_THREADS"))
	for line in io.lines(os.getenv("BENCH_MOVES")) do
		local client, slot, id, box_a, box_b, pos = line:match("^(%d+)\t(%d+)\t(%S+)\t(%S+)\t(%S+)\t(%S+)$")
		if tonumber(client) % nthreads == tid then
			tubes[#tubes + 1] = { id = id, a = box_a, b = box_b, pos = pos }
		end
	end
	wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
	wrk.headers["Content-Type"] = "application/json"
end

function request()
	local t = tubes[k % #tubes + 1]
	local box = math.floor(k / #tubes) % 2 == 0 and t.b or t.a
	k = k + 1
	return wrk.format("POST", "/api/v1/specimens/" .. t.id .. "/move", nil,
		'{"box":"' .. box .. '","position":"' .. t.pos .. '"}')
end

dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
