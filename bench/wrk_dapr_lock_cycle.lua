-- wrk script: Dapr's lock API cycle (lock a fresh resource id, then unlock it) on the store
-- named by DAPR_LOCK_STORE (default "lockstore"). Each thread keeps the ids it holds; a request
-- unlocks one when there is one, otherwise it locks a new id. Two requests make one lock cycle,
-- as in bench/wrk_lock_cycle.lua.
local counter, held, sent = 0, {}, {}
local store = os.getenv("DAPR_LOCK_STORE") or "lockstore"
local headers = { ["Content-Type"] = "application/json" }

-- The prefix comes from /dev/urandom: math.random starts from the same seed in every wrk
-- process, and two runs must never share a resource id.
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
  local name = table.remove(held)
  if name then
    local body = string.format('{"resourceId":"%s","lockOwner":"wrk"}', name)
    return wrk.format("POST", "/v1.0-alpha1/unlock/" .. store, headers, body)
  end
  counter = counter + 1
  name = (prefix or "wrk-") .. counter
  table.insert(sent, name)
  local body = string.format('{"resourceId":"%s","lockOwner":"wrk","expiryInSeconds":30}', name)
  return wrk.format("POST", "/v1.0-alpha1/lock/" .. store, headers, body)
end

-- A lock answer names no id: the oldest id sent is taken as granted (connections of one thread
-- answer nearly in order; an unlock that overtakes its lock still costs the store one round trip).
function response(status, _, body)
  if status ~= 200 then
    error("unexpected status " .. status .. ": " .. body)
  end
  if string.find(body, '"success"', 1, true) then
    local name = table.remove(sent, 1)
    if not string.find(body, '"success"%s*:%s*true') then
      error("lock refused: " .. body)
    end
    table.insert(held, name)
  end
end
