-- ZMTP 3.x dissector for Wireshark and tshark: greeting, frames, commands (READY, INITIATE,
-- HELLO, WELCOME, ERROR, PING, PONG, SUBSCRIBE, CANCEL), properties and subscriptions (as
-- commands, and as messages from a SUB or XSUB socket).
--
--   tshark -X lua_script:tools/wireshark/zmtp.lua -r case.pcapng -V
--   wireshark -X lua_script:tools/wireshark/zmtp.lua case.pcapng
--
-- A connection is recognised by its greeting (heuristic on TCP); "Decode As... ZMTP" or
-- `-d tcp.port==N,zmtp` forces it for a port. TCP reassembly must be on (the default).

local zmtp = Proto("zmtp", "ZeroMQ Message Transport Protocol")

local f = {
  signature   = ProtoField.bytes("zmtp.greeting.signature", "Signature"),
  major       = ProtoField.uint8("zmtp.greeting.version.major", "Version major", base.DEC),
  minor       = ProtoField.uint8("zmtp.greeting.version.minor", "Version minor", base.DEC),
  mechanism   = ProtoField.string("zmtp.greeting.mechanism", "Mechanism"),
  as_server   = ProtoField.uint8("zmtp.greeting.as_server", "As-server", base.DEC),
  filler      = ProtoField.bytes("zmtp.greeting.filler", "Filler"),
  flags       = ProtoField.uint8("zmtp.frame.flags", "Flags", base.HEX),
  more        = ProtoField.bool("zmtp.frame.more", "More", 8, nil, 0x01),
  long        = ProtoField.bool("zmtp.frame.long", "Long size", 8, nil, 0x02),
  command     = ProtoField.bool("zmtp.frame.command", "Command", 8, nil, 0x04),
  reserved    = ProtoField.uint8("zmtp.frame.reserved", "Reserved bits", base.HEX, nil, 0xF8),
  size        = ProtoField.uint64("zmtp.frame.size", "Size", base.DEC),
  body        = ProtoField.bytes("zmtp.frame.body", "Body"),
  cmd_name    = ProtoField.string("zmtp.command.name", "Command name"),
  cmd_data    = ProtoField.bytes("zmtp.command.data", "Command data"),
  prop_name   = ProtoField.string("zmtp.property.name", "Property name"),
  prop_value  = ProtoField.bytes("zmtp.property.value", "Property value"),
  prop_text   = ProtoField.string("zmtp.property.text", "Property value (text)"),
  ping_ttl    = ProtoField.uint16("zmtp.ping.ttl", "TTL (deciseconds)", base.DEC),
  ping_ctx    = ProtoField.bytes("zmtp.ping.context", "Context"),
  error_reason = ProtoField.string("zmtp.error.reason", "Error reason"),
  sub_action  = ProtoField.string("zmtp.subscription.action", "Subscription action"),
  sub_topic   = ProtoField.bytes("zmtp.subscription.topic", "Topic"),
  sub_text    = ProtoField.string("zmtp.subscription.topic_text", "Topic (text)"),
}
local fields = {}
for _, v in pairs(f) do fields[#fields + 1] = v end
zmtp.fields = fields

local ef_malformed = ProtoExpert.new("zmtp.malformed", "Malformed ZMTP", expert.group.MALFORMED, expert.severity.ERROR)
zmtp.experts = { ef_malformed }

-- Socket-Type announced by each side, by "<tcp stream>:<source port>".
local socket_types = {}

local function printable(range)
  local s = range:raw()
  if s:match("^[%g ]*$") then return s end
  return nil
end

local function add_properties(tree, tvb, off, stop, key)
  while off < stop do
    local nlen = tvb(off, 1):uint()
    if off + 1 + nlen + 4 > stop then
      tree:add_proto_expert_info(ef_malformed, "truncated property")
      return
    end
    local name = tvb(off + 1, nlen):string()
    local vlen = tvb(off + 1 + nlen, 4):uint()
    local voff = off + 1 + nlen + 4
    if voff + vlen > stop then
      tree:add_proto_expert_info(ef_malformed, "property value longer than the command")
      return
    end
    local p = tree:add(zmtp, tvb(off, voff + vlen - off), "Property: " .. name)
    p:add(f.prop_name, tvb(off + 1, nlen))
    if vlen > 0 then
      local value = tvb(voff, vlen)
      p:add(f.prop_value, value)
      local text = printable(value)
      if text then
        p:add(f.prop_text, value, text)
        p:append_text(" = " .. text)
        if name:lower() == "socket-type" and key then socket_types[key] = text:upper() end
      end
    end
    off = voff + vlen
  end
end

local function add_command(tree, tvb, off, size, key)
  local stop = off + size
  if size < 1 then
    tree:add_proto_expert_info(ef_malformed, "empty command body")
    return "(empty command)"
  end
  local nlen = tvb(off, 1):uint()
  if off + 1 + nlen > stop then
    tree:add_proto_expert_info(ef_malformed, "command name longer than the body")
    return "(bad command)"
  end
  local name = tvb(off + 1, nlen):string()
  local c = tree:add(zmtp, tvb(off, size), "Command: " .. name)
  c:add(f.cmd_name, tvb(off + 1, nlen))
  local d = off + 1 + nlen
  local left = stop - d
  if name == "READY" or name == "INITIATE" then
    add_properties(c, tvb, d, stop, key)
  elseif name == "SUBSCRIBE" or name == "CANCEL" then
    c:add(f.sub_action, tvb(off + 1, nlen), name == "SUBSCRIBE" and "subscribe" or "cancel")
    if left > 0 then
      c:add(f.sub_topic, tvb(d, left))
      local text = printable(tvb(d, left))
      if text then c:add(f.sub_text, tvb(d, left), text) end
    end
  elseif name == "PING" then
    if left >= 2 then
      c:add(f.ping_ttl, tvb(d, 2))
      if left > 2 then c:add(f.ping_ctx, tvb(d + 2, left - 2)) end
    else
      c:add_proto_expert_info(ef_malformed, "PING without its 2-octet TTL")
    end
  elseif name == "PONG" then
    if left > 0 then c:add(f.ping_ctx, tvb(d, left)) end
  elseif name == "ERROR" then
    if left >= 1 then
      local rlen = tvb(d, 1):uint()
      if rlen <= left - 1 then c:add(f.error_reason, tvb(d + 1, rlen)) end
    end
  elseif left > 0 then
    c:add(f.cmd_data, tvb(d, left))
  end
  return name
end

-- Dissects what is at `off`; returns the octets used, or a negative number of octets missing.
local function dissect_one(tvb, pinfo, tree, off, key, summary)
  local avail = tvb:len() - off
  local b0 = tvb(off, 1):uint()
  if b0 == 0xFF then
    -- Greeting: signature (10), version (2), mechanism (20), as-server (1), filler (31).
    if avail < 10 then return -(10 - avail) end
    if avail < 64 then return -(64 - avail) end
    local g = tree:add(zmtp, tvb(off, 64), "Greeting")
    g:add(f.signature, tvb(off, 10))
    g:add(f.major, tvb(off + 10, 1))
    g:add(f.minor, tvb(off + 11, 1))
    local mech = tvb(off + 12, 20):stringz()
    g:add(f.mechanism, tvb(off + 12, 20), mech)
    g:add(f.as_server, tvb(off + 32, 1))
    g:add(f.filler, tvb(off + 33, 31))
    g:append_text(string.format(": ZMTP %d.%d %s", tvb(off + 10, 1):uint(), tvb(off + 11, 1):uint(), mech))
    summary[#summary + 1] = "Greeting " .. mech
    return 64
  end
  if avail < 2 then return -1 end
  local flags = b0
  local hlen, size
  if bit.band(flags, 0x02) ~= 0 then
    if avail < 9 then return -(9 - avail) end
    hlen = 9
    size = tvb(off + 1, 8):uint64()
  else
    hlen = 2
    size = UInt64(tvb(off + 1, 1):uint())
  end
  if size > UInt64(0x7FFFFFFF) then
    local t = tree:add(zmtp, tvb(off, hlen), "Frame (size too large)")
    t:add_proto_expert_info(ef_malformed, "frame size " .. tostring(size))
    return avail
  end
  local n = size:tonumber()
  if avail < hlen + n then return -(hlen + n - avail) end
  local is_cmd = bit.band(flags, 0x04) ~= 0
  local fr = tree:add(zmtp, tvb(off, hlen + n), is_cmd and "Command frame" or "Message frame")
  local ft = fr:add(f.flags, tvb(off, 1))
  ft:add(f.more, tvb(off, 1))
  ft:add(f.long, tvb(off, 1))
  ft:add(f.command, tvb(off, 1))
  ft:add(f.reserved, tvb(off, 1))
  if bit.band(flags, 0xF8) ~= 0 then ft:add_proto_expert_info(ef_malformed, "reserved flag bits set") end
  fr:add(f.size, tvb(off + 1, hlen - 1), size)
  if is_cmd then
    local name = add_command(fr, tvb, off + hlen, n, key)
    summary[#summary + 1] = name
  else
    if n > 0 then fr:add(f.body, tvb(off + hlen, n)) end
    local st = socket_types[key]
    if (st == "SUB" or st == "XSUB") and n >= 1 then
      local a = tvb(off + hlen, 1):uint()
      if a == 0 or a == 1 then
        local s = fr:add(zmtp, tvb(off + hlen, n), "Subscription (message form)")
        s:add(f.sub_action, tvb(off + hlen, 1), a == 1 and "subscribe" or "cancel")
        if n > 1 then
          s:add(f.sub_topic, tvb(off + hlen + 1, n - 1))
          local text = printable(tvb(off + hlen + 1, n - 1))
          if text then s:add(f.sub_text, tvb(off + hlen + 1, n - 1), text) end
        end
        summary[#summary + 1] = (a == 1 and "subscribe" or "cancel") .. " (message)"
        return hlen + n
      end
    end
    summary[#summary + 1] = string.format("message %d octets%s", n, bit.band(flags, 1) ~= 0 and " MORE" or "")
  end
  return hlen + n
end

function zmtp.dissector(tvb, pinfo, tree)
  local len = tvb:len()
  if len == 0 then return 0 end
  pinfo.cols.protocol = "ZMTP"
  local subtree = tree:add(zmtp, tvb(), "ZMTP")
  local stream = tostring(pinfo.src_port) .. ">" .. tostring(pinfo.dst_port)
  local key = tostring(pinfo.src) .. ":" .. stream
  local off = 0
  local summary = {}
  while off < len do
    local used = dissect_one(tvb, pinfo, subtree, off, key, summary)
    if used < 0 then
      pinfo.desegment_offset = off
      pinfo.desegment_len = -used
      break
    end
    off = off + used
  end
  if #summary > 0 then
    -- Several PDUs of one frame are dissected in turn: append to what an earlier call wrote.
    local text = table.concat(summary, ", ")
    if tostring(pinfo.cols.info):sub(1, 5) == "ZMTP " then
      pinfo.cols.info:append(", " .. text)
    else
      pinfo.cols.info = "ZMTP " .. text
    end
  end
  return len
end

-- A connection starts with the greeting's signature: 0xFF, 8 octets, then bit 0 of octet 9 set.
local function heuristic(tvb, pinfo, tree)
  if tvb:len() < 10 then return false end
  if tvb(0, 1):uint() ~= 0xFF or bit.band(tvb(9, 1):uint(), 0x01) == 0 then return false end
  pinfo.conversation = zmtp
  zmtp.dissector(tvb, pinfo, tree)
  return true
end

zmtp:register_heuristic("tcp", heuristic)
DissectorTable.get("tcp.port"):add_for_decode_as(zmtp)
