-- cache_zipf.lua: wrk script for bench/cache.sh. Each request asks for PREFIX..k with k
-- in 0..N-1 drawn with Zipf popularity (P(k) proportional to 1/(k+1)^S: /item/0 the most
-- popular). Arguments after `--`: PREFIX (/item/), N (1000), S (1.0).
-- The draw is one table lookup: 65,536 slots, slot j holding the smallest k whose
-- cumulative probability reaches (j + 0.5) / 65536, so the least popular URL (about
-- 1.3e-4 of the requests at N = 1000, S = 1) still has several slots. The N requests are
-- formatted once at start.

local SLOTS = 65536
local slot = {}
local reqs = {}
local counter = 1

function setup(thread)
	thread:set("id", counter)
	counter = counter + 1
end

function init(args)
	local prefix = args[1] or "/item/"
	local n = tonumber(args[2] or "1000")
	local s = tonumber(args[3] or "1.0")
	local total = 0
	for k = 1, n do total = total + 1 / k ^ s end
	local cdf, k = 0, 0
	for j = 0, SLOTS - 1 do
		local want = (j + 0.5) / SLOTS
		while k < n and cdf < want do
			k = k + 1
			cdf = cdf + (1 / k ^ s) / total
		end
		slot[j] = k - 1
	end
	for i = 0, n - 1 do reqs[i] = wrk.format("GET", prefix .. i) end
	math.randomseed(os.time() * 1000 + (id or 0))
end

function request()
	return reqs[slot[math.random(0, SLOTS - 1)]]
end
