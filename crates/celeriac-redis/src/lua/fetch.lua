-- Leases up to ARGV[3] messages from the lists KEYS[10..] (in order), the way
-- kombu delivers them (an `unacked` entry and its `unacked_index` time), plus
-- Celeriac's lease record. A message whose ETA is still ahead is moved to the
-- delayed set instead of being held.
-- Also renews the consumer's heartbeat key and registers it (so a sweeper
-- finds its messages if it dies).
-- Every write is one variadic command per batch: inside a script each
-- redis.call costs a few microseconds whatever its size.
-- KEYS: unacked, unacked_index, leases, delayed, delayed_msgs, delayed_count,
--       revoked, heartbeat key, workers, list keys...
-- ARGV: now (s, float), now (ms), max, owner, untagged-prefix, lease (ms),
--       queue names (one per list key)...
-- Returns: env, tag, queue, deliveries, serial, revoked (0/1), task id (or
-- '') per message.
local now_s, now_ms, max = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local owner, untagged = ARGV[4], ARGV[5]
redis.call('SET', KEYS[8], now_s, 'PX', tonumber(ARGV[6]))
redis.call('HSETNX', KEYS[9], owner, '{"info":null}')
local check_revoked = redis.call('ZCARD', KEYS[7]) > 0
local now = tonumber(now_s)

-- Lua's unpack has a stack limit (~8000): variadic commands go in chunks.
local CHUNK = 500
local function write(cmd, key, args)
  for first = 1, #args, CHUNK * 2 do
    redis.call(cmd, key, unpack(args, first, math.min(first + CHUNK * 2 - 1, #args)))
  end
end
local function read_all(cmd, key, names)
  local values = {}
  for first = 1, #names, CHUNK do
    local part = redis.call(cmd, key, unpack(names, first, math.min(first + CHUNK - 1, #names)))
    for i = 1, math.min(CHUNK, #names - first + 1) do values[first + i - 1] = part[i] end
  end
  return values
end

local leased = {}   -- {env, tag, queue, id}
local delayed = {}  -- {env, tag, key, queue, due}
local seen, seq = {}, 0

-- Pops up to `want` messages, in list order, with their tags made unique.
local function pop(want)
  local got = {}
  for i = 10, #KEYS do
    local key, queue = KEYS[i], ARGV[i - 3]
    while #got < want do
      local need = want - #got
      local items = redis.call('RPOP', key, need)
      if not items then break end
      for _, env in ipairs(items) do
        got[#got + 1] = {env, field(env, 'delivery_tag'), key, queue}
      end
      if #items < need then break end
    end
    if #got >= want then break end
  end
  if #got == 0 then return got end
  -- A tag already held (the same message published twice, or restored while
  -- still running) would overwrite the other copy's entry and lose it, as
  -- kombu does; missing tags too get one of their own.
  local tags = {}
  for i, m in ipairs(got) do tags[i] = m[2] or '' end
  local held = read_all('HMGET', KEYS[1], tags)
  local waiting = read_all('HMGET', KEYS[5], tags)
  for i, m in ipairs(got) do
    if m[2] == nil or m[2] == '' or held[i] or waiting[i] or seen[m[2]] then
      seq = seq + 1
      m[2] = untagged .. seq
    end
    seen[m[2]] = true
  end
  return got
end

while #leased < max do
  local want = max - #leased
  local got = pop(want)
  for _, m in ipairs(got) do
    local env, tag, key, queue = m[1], m[2], m[3], m[4]
    local due = iso_ms(field(env, 'eta'))
    if due and due > now_ms then
      delayed[#delayed + 1] = {env, tag, key, queue, due}
    else
      leased[#leased + 1] = {env, tag, queue, field(env, 'id')}
    end
  end
  if #got < want then break end
end

if #delayed > 0 then
  local zadd, msgs, counts = {}, {}, {}
  for _, d in ipairs(delayed) do
    zadd[#zadd + 1] = d[5]
    zadd[#zadd + 1] = d[2]
    msgs[#msgs + 1] = d[2]
    msgs[#msgs + 1] = cjson.encode({d[1], d[3], d[4]})
    counts[d[4]] = (counts[d[4]] or 0) + 1
  end
  write('ZADD', KEYS[4], zadd)
  write('HSET', KEYS[5], msgs)
  for queue, c in pairs(counts) do redis.call('HINCRBY', KEYS[6], queue, c) end
end

local out = {}
if #leased == 0 then return out end
local tags = {}
for i, m in ipairs(leased) do tags[i] = m[2] end
local leases = read_all('HMGET', KEYS[3], tags)
local revoked = {}
if check_revoked then
  local ids = {}
  for i, m in ipairs(leased) do ids[i] = m[4] or '' end
  revoked = read_all('ZMSCORE', KEYS[7], ids)
end
local entries, index, records = {}, {}, {}
for i, m in ipairs(leased) do
  local env, tag, queue, id = m[1], m[2], m[3], m[4]
  local _, d, s = lease_parts(leases[i] or nil)
  d, s = d + 1, s + 1
  entries[#entries + 1] = tag
  entries[#entries + 1] = unacked_entry(env, queue)
  -- kombu reads this score as the delivery time; the 10-microsecond steps
  -- keep the delivery order for returning messages in order.
  index[#index + 1] = now + i * 0.00001
  index[#index + 1] = tag
  records[#records + 1] = tag
  records[#records + 1] = owner .. ' ' .. d .. ' ' .. s
  local until_ms = revoked[i]
  out[#out + 1] = env
  out[#out + 1] = tag
  out[#out + 1] = queue
  out[#out + 1] = d
  out[#out + 1] = s
  out[#out + 1] = (until_ms and tonumber(until_ms) > now_ms) and 1 or 0
  out[#out + 1] = id or ''
end
write('HSET', KEYS[1], entries)
write('ZADD', KEYS[2], index)
write('HSET', KEYS[3], records)
return out
