// Division correctly rounded (Vulkan lets '/' be 2.5 ulp off): the q8_quantize and
// q8kv_quantize shaders divide as the CPU does, bit for bit.

// a / b rounded to nearest even, for finite a >= 0 and normal b > 0 whose quotient is 0 or
// a normal float: the 24 quotient bits by long division of the significands, then the
// remainder decides the rounding.
float DivExact(float a, float b) {
  if (a == 0.0) return 0.0;
  const uint ab = floatBitsToUint(a), bb = floatBitsToUint(b);
  int ea = int(ab >> 23);
  uint ma = ab & 0x7FFFFFu;
  if (ea == 0) {  // subnormal a: normalise its significand
    const int shift = 23 - findMSB(ma);
    ma <<= uint(shift);
    ea = 1 - shift;
  } else {
    ma |= 0x800000u;
  }
  const uint mb = (bb & 0x7FFFFFu) | 0x800000u;
  int e = ea - int(bb >> 23);
  if (ma < mb) {
    ma <<= 1;
    e -= 1;
  }
  // Now mb <= ma < 2 mb: the quotient is in [1, 2) and its first bit is 1.
  uint q = 0u, r = ma;
  for (int i = 0; i < 24; ++i) {
    q <<= 1;
    if (r >= mb) {
      r -= mb;
      q |= 1u;
    }
    r <<= 1;  // r < 2 mb < 2^25
  }
  // r is twice the remainder: above mb rounds up, equal is a tie (to even).
  if (r > mb || (r == mb && (q & 1u) != 0u)) q += 1u;
  if (q == 0x1000000u) {
    q >>= 1;
    e += 1;
  }
  return uintBitsToFloat((uint(e + 127) << 23) | (q & 0x7FFFFFu));
}
