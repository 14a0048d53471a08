#include "semihosting.h"

enum {
  kSysWrite0 = 0x04,
  kSysExitExtended = 0x20,
  kAdpStoppedApplicationExit = 0x20026,
};

static int SemihostingCall(int op, const void* arg) {
  register int r0 __asm__("r0") = op;
  register const void* r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void semihosting_write(const char* text) { SemihostingCall(kSysWrite0, text); }

void semihosting_write_u32(const char* text, uint32_t value, const char* suffix) {
  char digits[11];
  char* p = digits + sizeof(digits) - 1;
  *p = '\0';
  do {
    *--p = (char)('0' + value % 10);
    value /= 10;
  } while (value != 0);
  if (text != NULL) semihosting_write(text);
  semihosting_write(p);
  if (suffix != NULL) semihosting_write(suffix);
}

void semihosting_exit(int status) {
  /* The 32-bit SYS_EXIT carries no status; the extended call takes {reason, status}. */
  const uint32_t block[2] = {kAdpStoppedApplicationExit, (uint32_t)status};
  SemihostingCall(kSysExitExtended, block);
  for (;;) {
  }
}
