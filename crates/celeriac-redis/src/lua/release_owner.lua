-- Returns every message leased by consumer ARGV[4] to the head of its list
-- (its worker died or left), keeping the delivery counts; forgets it.
-- KEYS: unacked, unacked_index, leases, workers, heartbeat key
-- ARGV: key prefix, separator, priority steps, owner
local owner = ARGV[4]
local all = redis.call('HGETALL', KEYS[3])
local held = {}
for i = 1, #all, 2 do
  local tag = all[i]
  local o, d, s = lease_parts(all[i + 1])
  if o == owner then
    redis.call('HSET', KEYS[3], tag, '- ' .. d .. ' ' .. s)
    local at = redis.call('ZSCORE', KEYS[2], tag)
    if at then held[#held + 1] = {tonumber(at), tag} end
  end
end
-- Latest delivered first, so the earliest ends at the head of its list.
table.sort(held, function(a, b) return a[1] > b[1] end)
local count = 0
for _, h in ipairs(held) do
  local tag = h[2]
  local entry = redis.call('HGET', KEYS[1], tag)
  if entry then
    local env, queue = unacked_parts(entry)
    redis.call('RPUSH', list_key(ARGV[1], ARGV[2], ARGV[3], queue, env), env)
    redis.call('HDEL', KEYS[1], tag)
    count = count + 1
  end
  redis.call('ZREM', KEYS[2], tag)
end
redis.call('HDEL', KEYS[4], owner)
redis.call('DEL', KEYS[5])
return count
