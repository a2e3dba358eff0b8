-- Before a stream batch's snapshot update. KEYS: index meta, snapshot meta. ARGV: base, token.
-- When the index describes the snapshot as it is now, marks it `pending:<token>` (readers leave it alone)
-- and returns 1; otherwise deletes whatever index there is and returns 0.
--@include keyword-prelude
local stamp = redis.call('HGET', KEYS[1], 'stamp')
if not stamp then return 0 end
local build, version = snapshot_version(KEYS[2])
if build and stamp == version then
  redis.call('HSET', KEYS[1], 'stamp', 'pending:' .. ARGV[2], 'build', build)
  return 1
end
drop_index(KEYS[1])
return 0
