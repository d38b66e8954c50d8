--[[
  Trims a step stream below the oldest entry its consumer group still owes: the first
  pending (delivered, not acknowledged) entry, or else the next one to be delivered.
  Entries below it were acknowledged, so their step is finished; nothing unfinished goes.
  Atomic, so no entry can be delivered or claimed between the reading and the trimming.

  KEYS[1]  stream
  ARGV[1]  consumer group
  returns  how many entries were trimmed (0 when the stream or group does not exist)
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local last = nil
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local f = {}
  for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
  if f['name'] == ARGV[1] then last = f['last-delivered-id'] end
end
if last == nil then return 0 end
local pending = redis.call('XPENDING', KEYS[1], ARGV[1])
local oldest = pending[2]
if pending[1] == 0 or oldest == false then
  -- nothing pending: everything up to the last delivered entry is acknowledged
  local ms, seq = string.match(last, '^(%d+)-(%d+)$')
  oldest = ms .. '-' .. (tonumber(seq) + 1)
end
return redis.call('XTRIM', KEYS[1], 'MINID', oldest)
