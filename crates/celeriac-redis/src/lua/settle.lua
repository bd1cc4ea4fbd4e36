-- Stores results (Celery's SET + PUBLISH on `celery-task-meta-<id>`), then
-- acknowledges deliveries (kombu's ZREM + HDEL, plus the lease record).
-- A stored SUCCESS is never overwritten, and a ready state is replaced only
-- by a ready state. Reads and acknowledgements are one variadic command per
-- batch: inside a script each redis.call costs a few microseconds.
-- KEYS: unacked, unacked_index, leases, result keys...
-- ARGV: number of results n, ttl (ms, 0 = none), n documents, n states,
--       then (tag, serial) pairs to acknowledge.
-- Returns the number of acknowledgements that were current.
local n, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local CHUNK = 500
local ready = {SUCCESS = true, FAILURE = true, REVOKED = true}

if n > 0 then
  local olds = {}
  for first = 1, n, CHUNK do
    local last = math.min(first + CHUNK - 1, n)
    local part = redis.call('MGET', unpack(KEYS, 3 + first, 3 + last))
    for i = 1, last - first + 1 do olds[first + i - 1] = part[i] end
  end
  -- States written by this call, for a key that comes twice in one batch.
  local written = {}
  for i = 1, n do
    local key, doc, state = KEYS[3 + i], ARGV[2 + i], ARGV[2 + n + i]
    local was = written[key]
    if not was and olds[i] then
      was = string.match(olds[i], '"status"%s*:%s*"([^"]*)"')
    end
    local allowed = true
    if was then
      if was == 'SUCCESS' then
        allowed = false
      elseif was and ready[was] and not ready[state] then
        allowed = false
      end
    end
    if allowed then
      if ttl > 0 then
        redis.call('SET', key, doc, 'PX', ttl)
      else
        redis.call('SET', key, doc)
      end
      redis.call('PUBLISH', key, doc)
      written[key] = state
    end
  end
end

local tags, serials = {}, {}
for i = 3 + 2 * n, #ARGV, 2 do
  tags[#tags + 1] = ARGV[i]
  serials[#serials + 1] = ARGV[i + 1]
end
if #tags == 0 then return 0 end
local current = {}
for first = 1, #tags, CHUNK do
  local last = math.min(first + CHUNK - 1, #tags)
  local records = redis.call('HMGET', KEYS[3], unpack(tags, first, last))
  for i = first, last do
    local owner, _, s = lease_parts(records[i - first + 1] or nil)
    if owner ~= nil and owner ~= '-' and s == tonumber(serials[i]) then
      current[#current + 1] = tags[i]
    end
  end
end
for first = 1, #current, CHUNK do
  local last = math.min(first + CHUNK - 1, #current)
  redis.call('ZREM', KEYS[2], unpack(current, first, last))
  redis.call('HDEL', KEYS[1], unpack(current, first, last))
  redis.call('HDEL', KEYS[3], unpack(current, first, last))
end
return #current
