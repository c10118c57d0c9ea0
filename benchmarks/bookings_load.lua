-- wrk script for `manage.py bench_bookings`: every request opens a random reminder's booking link
-- (one path a line in the file the command writes). Any status other than 200 is an error.
-- Usage: wrk ... -s benchmarks/bookings_load.lua http://127.0.0.1:PORT -- <paths file>

local paths = {}
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_no", counter)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  if #paths == 0 then error("no paths in " .. args[1]) end
  math.randomseed(os.time() * 1000 + (thread_no or 0))
  errors = 0
end

function request()
  local headers = { ["Host"] = "127.0.0.1", ["X-Forwarded-Proto"] = "https", ["Accept-Language"] = "ja" }
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

function response(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
end

function done(summary, latency, requests)
  local status_errors = 0
  for _, thread in ipairs(threads) do
    status_errors = status_errors + (thread:get("errors") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p95_us=%d p99_us=%d max_us=%d status_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, status_errors, e.connect + e.read + e.write + e.timeout
  ))
end
