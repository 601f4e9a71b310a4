-- wrk script for bench_memory.py: lock cycles on distinct names, every request with an
-- Idempotency-Key of its own; wrk (one thread: -t 1) exits once CONCORD_BENCH_CYCLES cycles
-- were released (wrk itself only knows durations). A request releases a grant the thread still
-- holds, otherwise it acquires a new name.
local to_release, acquiring, started, released = {}, {}, 0, 0
local api_key = os.getenv("CONCORD_BENCH_KEY") or "bench-key"
local cycles = 0

local function random_hex(bytes)
  local f = assert(io.open("/dev/urandom", "rb"))
  local raw = f:read(bytes)
  f:close()
  return (raw:gsub(".", function(c) return string.format("%02x", string.byte(c)) end))
end

function setup(thread)
  thread:set("prefix", "mem-" .. random_hex(8) .. "-")
end

function init(args)
  cycles = tonumber(os.getenv("CONCORD_BENCH_CYCLES") or "1000")
end

local function post(path, key, body)
  local headers = {
    ["Content-Type"] = "application/json", ["X-API-Key"] = api_key, ["Idempotency-Key"] = key,
  }
  return wrk.format("POST", path, headers, body)
end

function request()
  local grant = table.remove(to_release)
  if grant then
    local body = string.format('{"owner":"wrk","fencing_token":%s}', grant.token)
    return post("/v1/locks/" .. grant.name .. ":release", grant.name .. "-r", body)
  end
  started = started + 1
  local name = prefix .. started
  acquiring[name] = true
  return post("/v1/locks/" .. name .. ":acquire", name .. "-a", '{"owner":"wrk","ttl":"30s"}')
end

function response(status, _, body)
  if status ~= 200 then
    error("unexpected status " .. status .. ": " .. body)
  end
  local name = string.match(body, '"name":"([^"]+)"')
  local token = string.match(body, '"fencing_token":"?(%d+)')
  if name and acquiring[name] then
    acquiring[name] = nil
    table.insert(to_release, { name = name, token = token })
  elseif name then
    released = released + 1
    if released >= cycles then
      io.stderr:write(string.format("released %d lock cycles\n", released))
      os.exit(0)
    end
  end
end
