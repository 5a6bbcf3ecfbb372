-- One wrk script for every case, configured through environment variables so that a
-- case stays a declarative entry in cases.py:
--   BENCH_METHOD        GET, POST, ...                     (default GET)
--   BENCH_HEADERS       "name: value" lines, newline-separated
--   BENCH_BODY          request body (sent with Content-Length)
--   BENCH_MANY_IPS=1    a random X-Forwarded-For client per request (10.0.0.0/8)
--   BENCH_RANGE_BYTES   with BENCH_FILE_SIZE: a Range of that size at a random offset
--   BENCH_RANDOM_DAYS=1 append a random ?from=&to= day range (all days inside it), so
--                       every request is a distinct analytics cache key: a miss
--   BENCH_COUNT_STATUS=1  count 2xx / 429 / other statuses (only for small bodies)
-- done() prints one line "BENCH_JSON {...}" that benchmarks/wrk.py parses.

local many_ips = os.getenv("BENCH_MANY_IPS") == "1"
local range_bytes = tonumber(os.getenv("BENCH_RANGE_BYTES") or "0") or 0
local file_size = tonumber(os.getenv("BENCH_FILE_SIZE") or "0") or 0
local count_status = os.getenv("BENCH_COUNT_STATUS") == "1"
local random_days = os.getenv("BENCH_RANDOM_DAYS") == "1"

wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
end
for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(line, "^%s*([^:]+):%s*(.-)%s*$")
  if name then
    wrk.headers[name] = value
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function init(args)
  math.randomseed(os.time() * 7919 + (thread_number or 0) * 104729)
  s2xx, s429, sother = 0, 0, 0
end

local function random_day(first_year, last_year)
  return string.format("%04d-%02d-%02d",
    math.random(first_year, last_year), math.random(1, 12), math.random(1, 28))
end

if many_ips or range_bytes > 0 or random_days then
  local base_path, separator
  function request()
    if base_path == nil then
      base_path = wrk.path
      separator = string.find(base_path, "?", 1, true) and "&" or "?"
    end
    if many_ips then
      wrk.headers["X-Forwarded-For"] = string.format(
        "10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
    end
    if range_bytes > 0 then
      local first = math.random(0, file_size - range_bytes)
      wrk.headers["Range"] = string.format("bytes=%d-%d", first, first + range_bytes - 1)
    end
    local path = base_path
    if random_days then
      path = base_path .. separator .. "from=" .. random_day(1900, 1999)
        .. "&to=" .. random_day(2100, 2999)
    end
    return wrk.format(nil, path)
  end
end

if count_status then
  function response(status, headers, body)
    if status >= 200 and status < 300 then
      s2xx = s2xx + 1
    elseif status == 429 then
      s429 = s429 + 1
    else
      sother = sother + 1
    end
  end
end

function done(summary, latency, requests)
  local ok, limited, other = 0, 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + (thread:get("s2xx") or 0)
    limited = limited + (thread:get("s429") or 0)
    other = other + (thread:get("sother") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"duration_us": %d, "requests": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"mean": %.1f, "max": %d, "p50": %d, "p90": %d, "p99": %d, "p999": %d}, '
      .. '"status": {"counted": %s, "2xx": %d, "429": %d, "other": %d}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9),
    tostring(count_status), ok, limited, other))
end
