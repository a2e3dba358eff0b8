-- Version of a whole snapshot. KEYS: 6 data keys. Returns [build, seq, epoch]; 'absent'; or 'dropped'
-- when it was broken or left orphans of an evicted meta hash, which it deleted.
--@include snapshot-prelude

local k = { KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6] }
local state = live_state(k)
if state ~= 'ok' then return state end
return redis.call('HMGET', k[1], 'build', 'seq', 'epoch')
