-- wrk script for bench/run's session rows: every request carries one of the
-- session cookies drover issued before the run (one per line in the file
-- given after "--"). Threads take disjoint cookies and each cycles through
-- its own, so no two requests in flight share a session.
local tid = 0

function setup(thread)
	thread:set("id", tid)
	tid = tid + 1
end

function init(args)
	local nthreads = tonumber(args[2]) or 1
	cookies = {}
	local i = 0
	for line in io.lines(args[1]) do
		if line ~= "" then
			if i % nthreads == id then
				cookies[#cookies + 1] = line
			end
			i = i + 1
		end
	end
	idx = 0
end

function request()
	idx = idx % #cookies + 1
	return wrk.format("GET", nil, { Cookie = cookies[idx] })
end
