-- Leases up to ARGV[3] messages from the lists KEYS[8..] (in order), the way
-- kombu delivers them (an `unacked` entry and its `unacked_index` time), plus
-- Celeriac's lease record. A message whose ETA is still ahead is moved to the
-- delayed set instead of being held.
-- Also renews the consumer's heartbeat key and registers it (so a sweeper
-- finds its messages if it dies).
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
local out, n, seq = {}, 0, 0
for i = 10, #KEYS do
  local key, queue = KEYS[i], ARGV[i - 3]
  while n < max do
    local want = max - n
    local items = redis.call('RPOP', key, want)
    if not items then break end
    for _, env in ipairs(items) do
      local tag = field(env, 'delivery_tag')
      if not tag or tag == '' then
        -- kombu loses such a message; Celeriac gives it a tag to track it.
        seq = seq + 1
        tag = untagged .. seq
      elseif redis.call('HEXISTS', KEYS[1], tag) == 1 or redis.call('HEXISTS', KEYS[5], tag) == 1 then
        -- Another copy of this message is held (published twice, or
        -- restored while still running): kombu would let one overwrite the
        -- other's entry and lose it; a tag of its own keeps both tracked.
        seq = seq + 1
        tag = untagged .. seq
      end
      local due = iso_ms(field(env, 'eta'))
      if due and due > now_ms then
        redis.call('ZADD', KEYS[4], due, tag)
        redis.call('HSET', KEYS[5], tag, cjson.encode({env, key, queue}))
        redis.call('HINCRBY', KEYS[6], queue, 1)
      else
        redis.call('HSET', KEYS[1], tag, unacked_entry(env, queue))
        -- kombu reads this score as the delivery time; the microsecond
        -- steps keep the delivery order for returning messages in order.
        redis.call('ZADD', KEYS[2], tonumber(now_s) + n * 0.00001, tag)
        local _, d, s = lease_parts(redis.call('HGET', KEYS[3], tag))
        d, s = d + 1, s + 1
        redis.call('HSET', KEYS[3], tag, owner .. ' ' .. d .. ' ' .. s)
        local revoked = 0
        local id = field(env, 'id')
        if check_revoked and id then
          local until_ms = redis.call('ZSCORE', KEYS[7], id)
          if until_ms and tonumber(until_ms) > now_ms then revoked = 1 end
        end
        n = n + 1
        out[#out + 1] = env
        out[#out + 1] = tag
        out[#out + 1] = queue
        out[#out + 1] = d
        out[#out + 1] = s
        out[#out + 1] = revoked
        out[#out + 1] = id or ''
      end
    end
    if #items < want then break end
  end
  if n >= max then break end
end
return out
