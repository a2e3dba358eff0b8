-- Starts building the index of snapshot version ARGV[3] under generation ARGV[2] (replacing any index).
-- KEYS: index meta, snapshot meta. ARGV: base, gen, version. Returns 1, or 0 when the snapshot moved on.
--@include keyword-prelude
local _, version = snapshot_version(KEYS[2])
if version ~= ARGV[3] then return 0 end
drop_index(KEYS[1])
redis.call('HSET', KEYS[1], 'stamp', 'building:' .. ARGV[2], 'gen', ARGV[2], 'n', 0, 'total', 0, 'terms', 0)
return 1
