--[[
  Hands a batch of orders from their settlement step to the next, or only acknowledges
  them, in one call, and takes the next work for the caller: per order, the entry of step
  n+1 is added unless this hand-off was already made (marker key), then the entry of step n
  is acknowledged and deleted. A second run of step n that finds its outcome already
  recorded (see outcome-writer.ts) thus only acknowledges, and never doubles the order.
  Each order's part is whole before the next one starts, so a call cut short leaves every
  order either handed on and acknowledged, or untouched and pending (claimed again later).
  Then up to `take` new entries of each step stream are read for the caller's consumer, as
  its blocking read would: the entries just added are mostly run by the process that made
  them, one round trip sooner, and no entry is read twice.

  KEYS     the s step streams to take from; then per order: the stream of step n; for a
           hand-off also the stream of step n+1 and the order's hand-off marker
  ARGV[1]  consumer group
  ARGV[2]  how long a marker lives (ms): longer than any duplicate of step n can wait
  ARGV[3]  the caller's consumer name
  ARGV[4]  s, the number of streams to take from
  ARGV[5]  take: new entries to read per stream (0: none)
  ARGV[6..] per order: the entry id in step n, the number k of fields of its entry in step
           n+1 (0: acknowledge only), then those k fields
  returns  { per order 1 when an entry was added, else 0 } and what XREADGROUP read (or false)
]]
local group, ttl, consumer = ARGV[1], ARGV[2], ARGV[3]
local s, take = tonumber(ARGV[4]), tonumber(ARGV[5])
local k, a = s + 1, 6
local added = {}
while a <= #ARGV do
  local from, id, n = KEYS[k], ARGV[a], tonumber(ARGV[a + 1])
  k, a = k + 1, a + 2
  local made = 0
  if n > 0 then
    local to, marker = KEYS[k], KEYS[k + 1]
    k = k + 2
    if redis.call('EXISTS', marker) == 0 then
      -- added first: if XADD fails, nothing of this order has changed
      redis.call('XADD', to, '*', unpack(ARGV, a, a + n - 1))
      redis.call('SET', marker, '1', 'PX', ttl)
      made = 1
    end
    a = a + n
  end
  redis.call('XACK', from, group, id)
  redis.call('XDEL', from, id)
  added[#added + 1] = made
end
local read = false
if take > 0 and s > 0 then
  local args = { 'GROUP', group, consumer, 'COUNT', take, 'STREAMS' }
  for i = 1, s do args[#args + 1] = KEYS[i] end
  for _ = 1, s do args[#args + 1] = '>' end
  read = redis.call('XREADGROUP', unpack(args))
end
return { added, read }
