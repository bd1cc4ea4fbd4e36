-- Returns current deliveries to the head of their lists at once, the first
-- given ending first in line; each counts as delivered once more.
-- KEYS: unacked, unacked_index, leases, deliveries
-- ARGV: key prefix, separator, priority steps, then delivery fields.
local count = 0
for i = #ARGV, 4, -1 do
  local f = ARGV[i]
  local entry = current_lease(KEYS[3], f) and redis.call('HGET', KEYS[1], f)
  if entry then
    local env, queue = unacked_parts(entry)
    redis.call('RPUSH', list_key(ARGV[1], ARGV[2], ARGV[3], queue, env), env)
    redis.call('HDEL', KEYS[1], f)
    redis.call('ZREM', KEYS[2], f)
    redis.call('HDEL', KEYS[3], f)
    local tag = kombu_tag(f)
    if tag then redis.call('HINCRBY', KEYS[4], tag, 1) end
    count = count + 1
  end
end
return count
