-- wrk script: acquire a fresh lock name, then release it with the token from the answer.
-- Each thread keeps the grants it still has to release; a request releases one when there is
-- one, otherwise it acquires a new name. Two requests make one lock cycle.
local counter, to_release, acquiring = 0, {}, {}
local api_key = os.getenv("CONCORD_BENCH_KEY") or "bench-key"
local headers = { ["Content-Type"] = "application/json", ["X-API-Key"] = api_key }

-- Names are unique per process as well as per thread: math.random starts from the same seed in
-- every wrk process, so the prefix comes from /dev/urandom (two wrk runs never share a name).
local function random_hex(bytes)
  local f = assert(io.open("/dev/urandom", "rb"))
  local raw = f:read(bytes)
  f:close()
  return (raw:gsub(".", function(c) return string.format("%02x", string.byte(c)) end))
end

function setup(thread)
  thread:set("prefix", "wrk-" .. random_hex(8) .. "-")
end

function request()
  local grant = table.remove(to_release)
  if grant then
    local body = string.format('{"owner":"wrk","fencing_token":%s}', grant.token)
    return wrk.format("POST", "/v1/locks/" .. grant.name .. ":release", headers, body)
  end
  counter = counter + 1
  local name = (prefix or "wrk-") .. counter
  acquiring[name] = true
  return wrk.format("POST", "/v1/locks/" .. name .. ":acquire", headers, '{"owner":"wrk","ttl":"30s"}')
end

function response(status, _, body)
  if status ~= 200 then
    error("unexpected status " .. status .. ": " .. body)
  end
  local name = string.match(body, '"name":"([^"]+)"')
  local token = string.match(body, '"fencing_token":(%d+)')
  if name and acquiring[name] then
    acquiring[name] = nil
    table.insert(to_release, { name = name, token = token })
  end
end
