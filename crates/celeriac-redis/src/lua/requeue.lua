-- Returns current deliveries to the head of their lists at once, the first
-- given ending first in line.
-- KEYS: unacked, unacked_index, leases
-- ARGV: key prefix, separator, priority steps, then (tag, serial) pairs.
local count = 0
local last = 4 + 2 * math.floor((#ARGV - 4) / 2)
for i = last, 4, -2 do
  local tag = ARGV[i]
  local owner, d, s = current_lease(KEYS[3], tag, ARGV[i + 1])
  local entry = owner and redis.call('HGET', KEYS[1], tag)
  if entry then
    local env, queue = unacked_parts(entry)
    redis.call('RPUSH', list_key(ARGV[1], ARGV[2], ARGV[3], queue, env), env)
    redis.call('HDEL', KEYS[1], tag)
    redis.call('ZREM', KEYS[2], tag)
    redis.call('HSET', KEYS[3], tag, '- ' .. d .. ' ' .. s)
    count = count + 1
  end
end
return count
