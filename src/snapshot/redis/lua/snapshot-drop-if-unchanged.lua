-- Deletes a snapshot that a reader found broken, unless it changed since: a rebuild may have published a
-- good one in the meantime. KEYS: 6 data keys. ARGV[1]: the version read ('' when meta was absent).
-- Returns 1 when it deleted.
--@include snapshot-prelude

local m = redis.call('HMGET', KEYS[1], 'build', 'seq')
local current = ''
if m[1] then current = m[1] .. ':' .. (m[2] or '0') end
if current ~= ARGV[1] then return 0 end
unlink_data({ KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6] })
return 1
