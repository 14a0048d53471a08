// Entry u (0..15) of a Q4_R16_G32_CB tensor's int8 codebook, sign-extended, from the push
// block's 4 words p.codebook (entry u in byte u % 4 of word u / 4: PackCodebook, op.h). The
// including shader declares the push block `p` first.
int CodebookEntry(uint u) {
  return bitfieldExtract(int(p.codebook[u >> 2]), int(8u * (u & 3u)), 8);
}
