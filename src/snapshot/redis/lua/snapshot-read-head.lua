-- The head both reads of a snapshot start from (read.ts): the version script's checks of the whole
-- snapshot, so it also answers as a version check, then what the reads need first. KEYS: 6 data keys, then
-- the kept visibility. ARGV: the meta fields to return, in order. Returns [meta values, free slots, kept visibility
-- (nil when none)]; 'absent'; or 'dropped' when the snapshot was broken or left orphans, which it deleted.
--@include snapshot-prelude

local k = { KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6] }
local state = live_state(k)
if state ~= 'ok' then return state end
return { redis.call('HMGET', k[1], unpack(ARGV)), redis.call('LRANGE', k[6], 0, -1), redis.call('GET', KEYS[7]) }
