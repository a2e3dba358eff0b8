-- Deletes the index. KEYS: index meta. ARGV: base.
--@include keyword-prelude
drop_index(KEYS[1])
return 1
