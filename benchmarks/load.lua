-- wrk script for `manage.py bench_load`: every request picks a random tenant (and a random customer
-- of that tenant) from the credentials file the command writes, one line per tenant:
--   <api key> TAB <session id> TAB <customer id>,<customer id>,...
-- Usage: wrk ... -s benchmarks/load.lua http://127.0.0.1:PORT -- <target> <credentials file> <cookie name>
-- Targets: api_list, api_detail, today, customers, customer360.
-- Any status other than 200 counts as an error (a lost session would be a 302 to the login page,
-- which wrk itself would count as a success), and so does an empty API list page.

local tenants = {}
local target
local cookie_name
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_no", counter)
  table.insert(threads, thread)
end

function init(args)
  target = args[1]
  cookie_name = args[3] or "sessionid"
  for line in io.lines(args[2]) do
    local key, session, ids = line:match("^(%S+)\t(%S+)\t(%S+)$")
    if key then
      local list = {}
      for id in ids:gmatch("%d+") do
        list[#list + 1] = id
      end
      tenants[#tenants + 1] = { key = key, session = session, ids = list }
    end
  end
  if #tenants == 0 then
    error("no tenants in " .. args[2])
  end
  math.randomseed(os.time() * 1000 + (thread_no or 0))
  errors = 0
end

local function pick(list)
  return list[math.random(#list)]
end

function request()
  local t = pick(tenants)
  -- X-Forwarded-Proto: the settings trust it, so SECURE_SSL_REDIRECT never turns a page into a 301.
  local headers = { ["Host"] = "127.0.0.1", ["X-Forwarded-Proto"] = "https" }
  local path
  if target == "api_list" then
    headers["Authorization"] = "Bearer " .. t.key
    path = "/api/v1/customers/?page_size=50"
  elseif target == "api_detail" then
    headers["Authorization"] = "Bearer " .. t.key
    path = "/api/v1/customers/" .. pick(t.ids) .. "/"
  else
    headers["Cookie"] = cookie_name .. "=" .. t.session
    if target == "today" then
      path = "/"
    elseif target == "customers" then
      path = "/customers/"
    elseif target == "customer360" then
      path = "/customers/" .. pick(t.ids) .. "/"
    else
      error("unknown target " .. tostring(target))
    end
  end
  return wrk.format("GET", path, headers)
end

function response(status, headers, body)
  if status ~= 200 then
    errors = errors + 1
  elseif target == "api_list" and body:find('"results":%[%]') then
    -- An empty page would mean the policies hid the tenant's own rows: wrong, however fast.
    errors = errors + 1
  end
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
