-- wrk script of the Qiao benchmark (bench/lib/load.ts sets the environment).
--
--   BENCH_PATH     request path (POST)
--   BENCH_BODY     request body (JSON)
--   BENCH_HEADERS  extra headers, "Name: value" separated by "\n"
--   BENCH_TOKEN    a single bearer token, sent with every request (static request: cheapest for wrk)
--   BENCH_TOKENS   file with one token per line, used round-robin (wraps are counted)
--   BENCH_RATE     when > 0: paced (open-ish loop) at this many requests/s in total, with a wall-clock schedule
--
-- done() prints one line "BENCH_RESULT {json}" with the counts and the latency percentiles in microseconds.

local path = os.getenv("BENCH_PATH") or "/"
local body = os.getenv("BENCH_BODY") or ""
local rate = tonumber(os.getenv("BENCH_RATE") or "0") or 0
local tokensFile = os.getenv("BENCH_TOKENS") or ""
local singleToken = os.getenv("BENCH_TOKEN") or ""

local headers = {}
for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(line, "^([^:]+):%s*(.*)$")
  if name then headers[name] = value end
end
headers["Content-Type"] = headers["Content-Type"] or "application/json"

wrk.method = "POST"
wrk.path = path
wrk.body = body
wrk.headers = headers
if singleToken ~= "" then wrk.headers["Authorization"] = "Bearer " .. singleToken end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- Round-robin over a token file (one thread state each; benchmarks use one thread).
tokens = nil
index = 0
wraps = 0
late = 0

if tokensFile ~= "" then
  function init(args)
    tokens = {}
    for line in io.lines(tokensFile) do
      if #line > 0 then tokens[#tokens + 1] = "Bearer " .. line end
    end
    if #tokens == 0 then error("no tokens in " .. tokensFile) end
  end

  function request()
    index = index + 1
    if index > #tokens then
      index = 1
      wraps = wraps + 1
    end
    headers["Authorization"] = tokens[index]
    return wrk.format("POST", path, headers, body)
  end
end

if rate > 0 then
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clk, bench_timespec *tp);
  ]]
  local ts = ffi.new("bench_timespec")
  local function nowMs()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local interval = 1000 / rate
  local slot = nil
  -- Every request takes the next slot of one schedule shared by the thread's connections. A slot more than 20 ms
  -- in the past is given up (the peer could not keep the rate: the achieved rate shows it).
  function delay()
    local now = nowMs()
    if slot == nil then slot = now end
    if slot < now - 20 then
      late = late + 1
      slot = now
    end
    local wait = slot - now
    slot = slot + interval
    if wait < 0 then return 0 end
    return math.floor(wait + 0.5)
  end
end

function done(summary, latency, requests)
  local w, l = 0, 0
  for _, t in ipairs(threads) do
    w = w + (tonumber(t:get("wraps")) or 0)
    l = l + (tonumber(t:get("late")) or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"durationUs":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyUs":{"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d},"wraps":%d,"lateResets":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), w, l))
end
