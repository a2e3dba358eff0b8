-- Takes the ids changed since the last take, and empties the set. KEYS: building, dirty. ARGV: token.
-- Returns {'ok', ids}, {'lost'} (the slot is not ours any more) or {'evicted'} (ids went missing).
local b = redis.call('HMGET', KEYS[1], 'token', 'dirty')
if b[1] ~= ARGV[1] then return { 'lost' } end
if tonumber(b[2]) ~= redis.call('SCARD', KEYS[2]) then return { 'evicted' } end
local ids = redis.call('SMEMBERS', KEYS[2])
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'dirty', 0)
return { 'ok', ids }
