-- Helpers shared by Celeriac's scripts (prepended to each one).

-- The first "name": "value" string in an envelope's JSON text. Task
-- bodies are base64 (or escaped) inside the envelope, so their contents
-- cannot match; this reads kombu's fields without decoding ~1 KB of JSON.
-- A plain find (memchr) locates the name and an anchored match reads the
-- value: a pattern tried at every position costs ~10 us per envelope.
local function field(env, name)
  local needle = '"' .. name .. '"'
  local from = 1
  while true do
    local _, e = string.find(env, needle, from, true)
    if not e then return nil end
    local value = string.match(env, '^%s*:%s*"([^"]*)"', e + 1)
    if value then return value end
    from = e + 1
  end
end

-- The envelope (its bytes unchanged) and the queue of an `unacked` entry.
local function unacked_parts(entry)
  if string.sub(entry, 1, 2) == '["' then
    local held = cjson.decode(entry)
    return held[1], held[3]
  end
  -- `[<envelope>, "<exchange>", "<routing key>"]`, from Celeriac or kombu.
  local env, queue = string.match(entry, '^%[(.*), ".-", (".*)%]%s*$')
  if not env then error('an unacked entry Celeriac cannot read: ' .. string.sub(entry, 1, 80)) end
  return env, cjson.decode(queue)
end

-- A lease record is "owner order": who holds the delivery, and (digits,
-- all of one length) in which order the owner received its messages.
local function lease_parts(v)
  if not v then return nil, '' end
  local o, n = string.match(v, '^(%S+) ?(%d*)')
  return o, n or ''
end

-- The list a message of `queue` goes back to, from its priority (ARGV of
-- the caller supplies the key prefix, separator and priority steps).
local function list_key(prefix, sep, steps, queue, env)
  local p = tonumber(string.match(env, '"priority"%s*:%s*(%d+)') or '0')
  if p > 9 then p = 9 end
  local step = 0
  for s in string.gmatch(steps, '%d+') do
    local n = tonumber(s)
    if n <= p and n > step then step = n end
  end
  if step == 0 then return prefix .. queue end
  return prefix .. queue .. sep .. step
end

-- The owner of a current delivery (nil when it was acknowledged or
-- returned since: every delivery has its own field, never reused).
local function current_lease(leases, f)
  return (lease_parts(redis.call('HGET', leases, f)))
end

-- kombu's delivery tag of a delivery's field ("<tag>#<lease id>"), the key
-- of its delivery count; nil for a message that had no tag.
local function kombu_tag(field)
  local tag = string.match(field, '^(.*)#[^#]*$')
  if tag == nil or tag == '' then return nil end
  return tag
end

-- Returns the messages in a consumer's staging lists (moved there by a
-- fetch that did not finish) to the heads of the lists they came from, in
-- their order. `registry` is the consumer's hash: staging list -> source.
local function unstage(registry)
  local lists = redis.call('HGETALL', registry)
  local count = 0
  for i = 1, #lists, 2 do
    -- A staging list holds the last message moved first; the first moved
    -- must end at the head (right end) of its list, so it is pushed last.
    local staged = redis.call('LRANGE', lists[i], 0, -1)
    for _, env in ipairs(staged) do redis.call('RPUSH', lists[i + 1], env) end
    count = count + #staged
    redis.call('DEL', lists[i])
  end
  redis.call('DEL', registry)
  return count
end
