/* C part of the start-up: .data and .bss, static constructors, main, exit. */
#include <stdint.h>

#include "semihosting.h"

/* From the linker script (mps2-an500.ld). */
extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[], _sstack[], _estack[];
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);

int main(void);

void kite_fw_start(void) __attribute__((noreturn, used));
void kite_fw_fault(void) __attribute__((noreturn, used));

#define KITE_FW_STACK_PAINT 0x5AC3A55Cu

uint32_t kite_fw_stack_used(void);

void kite_fw_start(void) {
  for (uint32_t *src = _sidata, *dst = _sdata; dst < _edata;) *dst++ = *src++;
  for (uint32_t* p = _sbss; p < _ebss;) *p++ = 0;
  /* Paint the free stack (all but this frame's neighbourhood) to measure its high-water
     mark later. */
  uint32_t* sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  for (volatile uint32_t* p = _sstack; p < sp - 64;) *p++ = KITE_FW_STACK_PAINT;
  for (void (**f)(void) = __init_array_start; f < __init_array_end; ++f) (*f)();
  semihosting_exit(main());
}

/* Bytes of stack used so far: from the top down to the deepest word no longer painted. */
uint32_t kite_fw_stack_used(void) {
  const uint32_t* p = _sstack;
  while (p < _estack && *p == KITE_FW_STACK_PAINT) ++p;
  return (uint32_t)((const uint8_t*)_estack - (const uint8_t*)p);
}

void kite_fw_fault(void) {
  semihosting_write("\nFATAL: processor fault\n");
  semihosting_exit(4);
}
